/**
 * Test support: marker files a fixture's handlers append lines to (see
 * test/fixtures/hang-service.ts), read back by the test wherever the
 * handler ran, and polling for a condition with a bound.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Fresh marker paths (and other files, `pathOf`) in a temporary directory made before this file's tests and removed after them. */
export const markerFiles = (prefix: string): { newMarker(): string; pathOf(name: string): string } => {
  let dir: string | undefined;
  let n = 0;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), prefix)); });
  afterAll(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }); });
  return { newMarker: () => join(dir!, `m${n++}.log`), pathOf: (name) => join(dir!, name) };
};

/** The lines of a marker file (none when it does not exist yet). */
export const linesOf = (marker: string): string[] => {
  try {
    return readFileSync(marker, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
};

/** Poll until `cond` holds; throws after `ms`. Resolves with how long it took. */
export const waitFor = async (cond: () => boolean, ms: number): Promise<number> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - t0;
};
