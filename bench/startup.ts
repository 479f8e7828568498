/**
 * Start-up: how long a freshly spawned stdio server takes to answer its
 * first call, ours with 0, 1 and 2 worker threads beside the peer's server,
 * all driven by the peer's client (bench/startup-probe.mjs: the clock starts
 * at spawn(), the probe's own start-up is outside it); and how long our unix
 * server with 2 workers takes to print its discovery line. Each case is
 * measured `rounds` times, interleaved with the others, and reported as
 * minimum and median. The bundled cases show what an application that bundles
 * its server gets: our bench server (main program and worker module) built
 * with the README's esbuild command (bench/readme-bundle.ts; the peer ships as
 * one bundled file; unbundled, most of our start-up is Node loading effect's
 * and apache-arrow's ~300 ES modules one by one).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readmeBundleCommand, withOutdir } from './readme-bundle.js';
import { median } from './stats.js';

/** Where the bundled bench server is written (inside dist/, so its external piscina still resolves). */
const BUNDLE_DIR = fileURLToPath(new URL('../examples/bench/bundle/', import.meta.url));
const BUNDLE = join(BUNDLE_DIR, 'worker.js');
const ESBUILD = fileURLToPath(new URL('../../node_modules/.bin/esbuild', import.meta.url));
const README = new URL('../../README.md', import.meta.url);

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('../../bench/startup-probe.mjs', import.meta.url));
const PEER_SERVER = fileURLToPath(new URL('../../test/interop/peer-server.mjs', import.meta.url));
const OUR_SERVER = fileURLToPath(new URL('../examples/bench/worker.js', import.meta.url));
/** The bench server's worker module: the README's worker.ts (main.ts is OUR_SERVER). */
const OUR_WORKER_MODULE = fileURLToPath(new URL('../examples/bench/worker-thread.js', import.meta.url));

/** One start-up case: a name and the probe's arguments. */
interface Case {
  readonly name: string;
  readonly args: (dir: string, round: number) => string[];
}

const CASES: readonly Case[] = [
  { name: 'peer stdio server, first answer', args: () => [PEER_SERVER] },
  { name: 'ours stdio, 0 workers, first answer', args: () => [OUR_SERVER, '--stdio'] },
  { name: 'ours stdio, 0 workers, bundled', args: () => [BUNDLE, '--stdio'] },
  { name: 'ours stdio, 1 worker, first answer', args: () => [OUR_SERVER, '--stdio', '--workers', '1'] },
  { name: 'ours stdio, 1 worker, bundled', args: () => [BUNDLE, '--stdio', '--workers', '1'] },
  { name: 'ours stdio, 2 workers, first answer', args: () => [OUR_SERVER, '--stdio', '--workers', '2'] },
  { name: 'ours stdio, 2 workers, bundled', args: () => [BUNDLE, '--stdio', '--workers', '2'] },
  { name: 'ours unix, 2 workers, discovery line', args: (dir, r) => ['--discovery', OUR_SERVER, '--unix', join(dir, `s${r}.sock`), '--workers', '2'] },
  { name: 'ours unix, 2 workers, bundled, discovery', args: (dir, r) => ['--discovery', BUNDLE, '--unix', join(dir, `b${r}.sock`), '--workers', '2'] },
];

/** Results: per case, every round's milliseconds. */
export interface StartupResult {
  readonly name: string;
  readonly ms: readonly number[];
}

/** Measure every case `rounds` times (interleaved); returns the results and a printable table. */
export const measureStartup = async (log: (s: string) => void, rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 5)): Promise<{ results: StartupResult[]; table: string }> => {
  const dir = mkdtempSync(join(tmpdir(), 'vgi-startup-'));
  const ms = CASES.map(() => [] as number[]);
  // The README's command, its two entries being the bench's main program and worker module.
  const command = readmeBundleCommand(README);
  if (command.entries.length !== 2) throw new Error(`the README's esbuild command should name main.ts and worker.ts: ${command.entries.join(' ')}`);
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  await run(ESBUILD, [OUR_SERVER, OUR_WORKER_MODULE, ...withOutdir(command, BUNDLE_DIR), '--log-level=warning']);
  try {
    for (let r = 0; r < rounds; r++) {
      log(`startup round ${r + 1}/${rounds}`);
      for (const [i, c] of CASES.entries()) {
        const { stdout } = await run(process.execPath, [PROBE, ...c.args(dir, r)]);
        ms[i]!.push((JSON.parse(stdout) as { ms: number }).ms);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(BUNDLE_DIR, { recursive: true, force: true });
  }
  const results = CASES.map((c, i) => ({ name: c.name, ms: ms[i]! }));
  const peer = Math.min(...ms[0]!);
  const table = [
    `start-up: spawn() to the first answer (the peer's client for both servers), or to the discovery line; ${rounds} interleaved rounds, ms`,
    `${'case'.padEnd(42)} ${'min'.padStart(7)} ${'median'.padStart(7)} ${'min vs peer'.padStart(12)}`,
    ...results.map((x) => `${x.name.padEnd(42)} ${Math.min(...x.ms).toFixed(0).padStart(7)} ${median(x.ms).toFixed(0).padStart(7)} ${`${(Math.min(...x.ms) / peer).toFixed(2)}x`.padStart(12)}`),
  ].join('\n');
  return { results, table };
};
