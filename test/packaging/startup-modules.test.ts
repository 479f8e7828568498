/**
 * Start-up cost guard for the server command (transports/server-command.ts, what the example
 * and bench workers run): a stdio server with no worker thread loads neither the worker pool nor
 * the socket servers, HTTP, zstd or the CLI; they are imported when a server first needs them.
 * The modules are listed by a module.register load hook in the server process.
 * (The packed-install test checks the same for the README's program, through the `./server` entry.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { staleOutputs } from '../support/stale-build.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'vgi-startup-modules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Module URLs `node --import <hook> args...` loads from start to exit (stdin at its end). */
const loaded = (args: readonly string[]): string[] => {
  writeFileSync(join(scratch, 'hook.mjs'), 'export const load = (url, context, next) => { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); };\n');
  writeFileSync(join(scratch, 'register.mjs'), "import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n");
  const r = spawnSync(process.execPath, ['--import', join(scratch, 'register.mjs'), ...args], { input: '', encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return [...r.stderr.matchAll(/^LOADED (.*)$/gm)].map((m) => m[1]!);
};

describe('what a stdio server loads at start-up', () => {
  it('with no worker thread: no piscina, socket server, HTTP, zstd or CLI module', () => {
    const stale = staleOutputs('examples/bench/worker.ts');
    if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    const urls = loaded([WORKER, '--stdio', '--workers', '0']);
    expect(urls.some((u) => u.endsWith('/dist/transports/pipe/stdio-main.js'))).toBe(true);
    const unused = /\/node_modules\/(piscina|fzstd|uWebSockets\.js|zstd-napi|@effect\/(cli|platform))\/|^node:https?$|\/dist\/cli\/|\/dist\/transports\/(http|socket|tcp\/tcp-server|unix\/unix-server)|\/dist\/runtime\/worker-(pool|entry)\.js$/;
    expect(urls.filter((u) => unused.test(u))).toEqual([]);
  }, 60_000);

  it('the same server with 2 workers does load the pool (the guard above can see it)', () => {
    const urls = loaded([WORKER, '--stdio', '--workers', '2']);
    expect(urls.some((u) => /\/node_modules\/piscina\//.test(u))).toBe(true);
  }, 60_000);
});
