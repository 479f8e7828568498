/**
 * The HTTP client must run outside Node (it will get a browser entry): walk
 * the BUILT import graph from its entry (and the typed and reflected
 * clients it is used with) and fail on any Node module import (`node:*` or
 * a bare builtin name), on Node-only globals used by a module of ours
 * (`Buffer`, `process`, `require`) unless guarded, and on a package outside
 * the few the client may pull in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleOutputs } from '../support/stale-build.js';

const root = process.cwd();
const ENTRIES = ['src/browser.ts', 'src/client/http/index.ts', 'src/client/typed-client.ts', 'src/client/reflected-client.ts'];
const builtins = new Set(builtinModules);

/** Packages the HTTP client's graph may import (all run in browsers). */
const ALLOWED_PACKAGES = new Set(['effect', 'apache-arrow', 'flatbuffers', 'fzstd']);

/** Every static or dynamic import specifier of a built module. */
const importsOf = (code: string): string[] =>
  [...code.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[;\s])import\s*['"]([^'"]+)['"]/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);

/** The code without comments (a rough strip: enough that prose about Buffers is not mistaken for a use). */
const withoutComments = (code: string): string => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

/** Walk the graph from the entries: our modules (absolute paths) and the bare specifiers they import. */
const walk = (entries: readonly string[]): { modules: Set<string>; bare: Map<string, string> } => {
  const modules = new Set<string>();
  const bare = new Map<string, string>();
  const visit = (file: string): void => {
    if (modules.has(file)) return;
    modules.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!bare.has(spec)) bare.set(spec, relative(root, file));
    }
  };
  for (const e of entries) visit(resolve(root, 'dist', e.replace(/\.ts$/, '.js')));
  return { modules, bare };
};

describe('the HTTP client module graph', () => {
  const stale = ENTRIES.flatMap((e) => staleOutputs(e));
  const { modules, bare } = stale.length === 0 ? walk(ENTRIES) : { modules: new Set<string>(), bare: new Map<string, string>() };

  it('is built', () => {
    expect(stale, 'build first with `npx tsc -p .`').toEqual([]);
    expect(modules.size).toBeGreaterThan(20);
    for (const m of modules) expect(existsSync(m), m).toBe(true);
  });

  it('imports no Node module', () => {
    const node = [...bare].filter(([spec]) => spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)).map(([spec, from]) => `${from} -> ${spec}`);
    expect(node).toEqual([]);
  });

  it('pulls in only browser-capable packages', () => {
    const packages = new Set([...bare.keys()].map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)));
    expect([...packages].filter((p) => !ALLOWED_PACKAGES.has(p))).toEqual([]);
    expect(packages.has('fzstd')).toBe(true);
  });

  it('uses no Node-only global unguarded', () => {
    const uses: string[] = [];
    for (const m of modules) {
      const code = withoutComments(readFileSync(m, 'utf8'));
      for (const line of code.split('\n')) {
        // A guarded use reads the global off globalThis first (`globalThis.Buffer`), and checks it.
        const bareUse = /(?<![.\w])(Buffer|process|require)\s*[.(]|instanceof\s+Buffer\b/.exec(line);
        if (bareUse !== null) uses.push(`${relative(root, m)}: ${line.trim()}`);
      }
    }
    expect(uses).toEqual([]);
  });
});
