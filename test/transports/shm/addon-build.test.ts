/**
 * The shared-memory addon's install contract: native/shm/build.mjs builds it where a compiler
 * exists, and where the build fails it still exits 0 (so `npm install` never fails), after which
 * mapping.ts reports shm unavailable with typed errors instead of throwing at import.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'vgi-shm-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of native/shm's sources (no build output) in a fresh directory. */
const sourcesCopy = (label: string): string => {
  const dir = join(scratch, label, 'native', 'shm');
  mkdirSync(dir, { recursive: true });
  for (const f of ['binding.gyp', 'shm.c', 'build.mjs']) copyFileSync(join(ROOT, 'native', 'shm', f), join(dir, f));
  return dir;
};

describe.skipIf(process.platform === 'win32')('shm addon build', () => {
  it('a failed build (no usable C compiler) exits 0 with a note, and leaves no binary', () => {
    const dir = sourcesCopy('broken');
    const run = spawnSync(process.execPath, [join(dir, 'build.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, CC: '/nonexistent/cc', CXX: '/nonexistent/c++' },
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/did not build.*shm transport is disabled/);
    expect(existsSync(join(dir, 'build', 'Release', 'vgi_shm.node'))).toBe(false);
  });

  it('a working build produces the addon, and a second run with fresh sources does nothing', () => {
    const dir = sourcesCopy('ok');
    const first = spawnSync(process.execPath, [join(dir, 'build.mjs')], { encoding: 'utf8', timeout: 120_000 });
    expect(first.status, first.stderr).toBe(0);
    const binary = join(dir, 'build', 'Release', 'vgi_shm.node');
    expect(existsSync(binary), first.stderr).toBe(true);
    const second = spawnSync(process.execPath, [join(dir, 'build.mjs')], { encoding: 'utf8', timeout: 120_000 });
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('');
  });

  it('without the addon, mapping.ts loads, says why, and every operation is a typed error', async () => {
    // A copy of the built modules inside a package root of the same name that has no native/ build.
    const pkg = join(scratch, 'absent');
    const dir = join(pkg, 'dist', 'transports', 'shm');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'vgi-rpc-actors' }));
    mkdirSync(join(pkg, 'dist', 'runtime'), { recursive: true });
    for (const f of ['transports/shm/mapping.js', 'runtime/package-root.js']) copyFileSync(join(ROOT, 'dist', f), join(pkg, 'dist', f));
    const m = (await import(pathToFileURL(join(dir, 'mapping.js')).href)) as typeof import('../../../transports/shm/mapping.js');
    expect(m.shmAvailable()).toBe(false);
    expect(m.shmUnavailableReason()).toMatch(/not built/);
    for (const op of [() => m.createMapping('vgi_x', 4096), () => m.attachMapping('vgi_x'), () => m.unlinkMapping('vgi_x')]) {
      expect(op).toThrowError(expect.objectContaining({ name: 'ShmMappingError', code: 'ESHMUNAVAILABLE' }));
    }
    // Names are still checked first.
    expect(() => m.attachMapping('a/b')).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
  });
});
