/**
 * Finding the shm addon and the segment tracker when the shm modules are bundled into an
 * application's file (esbuild), so that their import.meta.url is the bundle's location: the
 * package is found from there as a dependency, else from the working directory, else not at all
 * (shm unavailable, with a reason naming VGI_RPC_SHM_ADDON); VGI_RPC_SHM_ADDON names the addon
 * explicitly and then wins. Each case runs the bundle in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staleOutputs } from '../../support/stale-build.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADDON = join(ROOT, 'native', 'shm', 'build', 'Release', 'vgi_shm.node');
const scratch = mkdtempSync(join(tmpdir(), 'vgi-shm-lookup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What the bundled probe prints. */
interface Probe {
  readonly available: boolean;
  readonly reason?: string;
  readonly tracker?: string;
}

/** An application project with the package installed (a symlink to this checkout) and the bundle in its dist/. */
const app = join(scratch, 'app');
/** A directory holding the bundle alone, no package anywhere above it. */
const loose = join(scratch, 'loose');
/** Neither a project nor a package: the working directory for cases that must not find one from it. */
const elsewhere = join(scratch, 'elsewhere');

const runProbe = (dir: string, cwd: string, env: Record<string, string> = {}): Probe => {
  const { VGI_RPC_SHM_ADDON: _, ...base } = process.env;
  const r = spawnSync(process.execPath, [join(dir, 'probe.mjs')], { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Probe;
};

describe.skipIf(process.platform !== 'linux')('shm addon and tracker lookup from a bundle', () => {
  beforeAll(async () => {
    const stale = ['transports/shm/mapping.ts', 'transports/shm/owned-segments.ts', 'runtime/package-root.ts'].flatMap((e) => staleOutputs(e));
    if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    for (const d of [join(app, 'dist'), join(app, 'node_modules'), loose, elsewhere]) mkdirSync(d, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-app', type: 'module' }));
    symlinkSync(ROOT, join(app, 'node_modules', 'vgi-rpc-actors'), 'dir');
    // The probe: is shm available, and which script does the tracker of a first segment run?
    const entry = join(scratch, 'probe-entry.mjs');
    writeFileSync(entry, `
      import { readFileSync } from 'node:fs';
      import { shmAvailable, shmUnavailableReason } from ${JSON.stringify(join(ROOT, 'dist/transports/shm/mapping.js'))};
      import { createOwnedSegment, segmentTrackerPid } from ${JSON.stringify(join(ROOT, 'dist/transports/shm/owned-segments.js'))};
      const out = { available: shmAvailable(), reason: shmUnavailableReason() };
      if (out.available) {
        const segment = createOwnedSegment(4096);
        const pid = segmentTrackerPid();
        out.tracker = pid === undefined ? undefined : readFileSync('/proc/' + pid + '/cmdline', 'utf8').split('\\0').join(' ');
        segment.close();
      }
      console.log(JSON.stringify(out));
    `);
    const { build } = await import('esbuild');
    for (const dir of [join(app, 'dist'), loose]) {
      await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: join(dir, 'probe.mjs'), logLevel: 'silent' });
    }
  }, 60_000);

  it('finds the installed package from the bundle\'s location: addon loaded, tracker run from the package', () => {
    const p = runProbe(join(app, 'dist'), elsewhere);
    expect(p.available, p.reason).toBe(true);
    // Resolution follows the symlink to this checkout; nothing else could have found it from `elsewhere`.
    expect(p.tracker).toContain(join(ROOT, 'dist', 'transports', 'shm', 'segment-tracker.js'));
  });

  it('finds it from the working directory when the bundle lies outside the project', () => {
    const p = runProbe(loose, app);
    expect(p.available, p.reason).toBe(true);
    expect(p.tracker).toContain('segment-tracker.js');
  });

  it('without a package to find, shm is unavailable and the reason names VGI_RPC_SHM_ADDON', () => {
    const p = runProbe(loose, elsewhere);
    expect(p.available).toBe(false);
    expect(p.reason).toMatch(/vgi-rpc-actors package was not found.*VGI_RPC_SHM_ADDON/);
  });

  it('VGI_RPC_SHM_ADDON names the addon when nothing else finds it', () => {
    const p = runProbe(loose, elsewhere, { VGI_RPC_SHM_ADDON: ADDON });
    expect(p.available, p.reason).toBe(true);
  });

  it('VGI_RPC_SHM_ADDON wins over the installed package, and a wrong path says so', () => {
    const p = runProbe(join(app, 'dist'), app, { VGI_RPC_SHM_ADDON: join(scratch, 'missing.node') });
    expect(p.available).toBe(false);
    expect(p.reason).toMatch(/VGI_RPC_SHM_ADDON names .*missing\.node, which does not exist/);
  });
});
