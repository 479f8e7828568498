/**
 * Test support: find sources in a worker's import graph whose built
 * dist/*.js is missing or older than the .ts, so a test that spawns the
 * built worker refuses to run against a stale build.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Relative imports followed from `entry` (repository-relative .ts path) whose build output is stale. */
export const staleOutputs = (entry: string): string[] => {
  const stale: string[] = [];
  const seen = new Set<string>();
  const visit = (rel: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const src = path.join(ROOT, rel);
    if (!existsSync(src)) return;
    const out = path.join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) stale.push(rel);
    for (const m of readFileSync(src, 'utf8').matchAll(/from\s+['"](\.{1,2}\/[^'"]+)\.js['"]/g)) visit(path.join(path.dirname(rel), `${m[1]}.ts`));
  };
  visit(entry);
  return stale;
};
