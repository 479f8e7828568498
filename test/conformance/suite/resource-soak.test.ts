/**
 * Port of TestResourceSoak
 * (vgi_rpc/conformance/_resource_soak_pytest.py @ 2f59c5a).
 *
 * Each test gets its own freshly spawned conformance worker (the
 * reference's function-scoped `conformance_resource_soak_target`), drives it
 * through a warm-up, takes a baseline sample, then runs five measured epochs
 * and samples after each. A sample is read from Linux /proc for the worker's
 * pid: VmRSS, open descriptors, threads and live descendant processes.
 * Budgets: the reference's `ResourceSoakLimits` defaults (32 MiB retained
 * RSS, +3 descriptors, +1 thread, +0 children) except the RSS slope, which
 * the fixture sets per runtime (see NODE_LIMITS). `VGI_RPC_SOAK_SCALE`
 * (1..20) multiplies the per-epoch call counts and `VGI_RPC_SOAK_REPORT_DIR` receives one JSON report per scenario,
 * as in the reference; `VGI_RPC_SOAK_VERBOSE=1` (ours) prints each report to
 * stderr.
 *
 * Targets: `subprocess` (the stdio worker; one connection for the life of the
 * process, so test_connection_churn_plateaus cannot run on it and is skipped
 * there) and `unix` (`--unix PATH --workers 2`; every connect() opens a new
 * socket connection). The reference's own runners expose an HTTP worker; this
 * port has no HTTP transport yet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Client, RpcConnection, type ClientTransport } from '../../../src/index.js';
import type { PromiseClient } from '../../../src/client/typed-client.js';
import { spawnServer } from '../../../transports/pipe/subprocess-client.js';
import { connectUnix } from '../../../transports/unix/unix-client.js';
import { ConformanceService } from '../../../examples/conformance/service.js';
import { rpcError, settle } from './stream-support.js';

const WORKER = fileURLToPath(new URL('../../../dist/examples/conformance/worker.js', import.meta.url));
const MIB = 1024 * 1024;
/** The reference's per-test timeout (pytest.mark.timeout(50)). */
const TIMEOUT_MS = 50_000;

type Svc = PromiseClient<typeof ConformanceService.methods>;

/** `ResourceSoakLimits`. */
interface Limits {
  readonly rssGrowthBytes: number;
  readonly rssSlopeBytesPerEpoch: number;
  readonly descriptorGrowth: number;
  readonly threadGrowth: number;
  readonly childGrowth: number;
}

/**
 * This runner's budgets (the reference leaves them to each runner's fixture).
 * The reference default slope of 2 MiB/epoch is raised to 8 MiB/epoch, the
 * value the reference ecosystem's TypeScript (Bun) runner uses: after the
 * reference's short warm-up (50 calls / 3 stream cycles) V8 still grows its
 * heap by 10-15 MiB over the first measured epochs and then levels off (at
 * VGI_RPC_SOAK_SCALE=10 each later epoch adds at most 2.5 MiB), which
 * a five-epoch least-squares fit at scale 1 reads as 2.2-3.6 MiB/epoch. A
 * steady leak still trips the unchanged 32 MiB retained-growth budget.
 */
const NODE_LIMITS: Limits = {
  rssGrowthBytes: 32 * MIB,
  rssSlopeBytesPerEpoch: 8 * MIB,
  descriptorGrowth: 3,
  threadGrowth: 1,
  childGrowth: 0,
};

/** `ProcessResourceSnapshot`. */
interface Snapshot {
  readonly rss_bytes: number;
  readonly descriptors: number;
  readonly threads: number;
  readonly children: number;
}

/** A connection made by a target's `connect()`. */
interface SoakConn {
  readonly svc: Svc;
  close(): Promise<void>;
}

/** `ResourceSoakTarget`, plus how to stop the worker afterwards. */
interface SoakTarget {
  readonly name: string;
  readonly pid: number;
  /** A connection to the worker (a stdio worker has only one, so it hands it out once). */
  connect(): Promise<SoakConn>;
  readonly limits: Limits;
  stop(): Promise<void>;
}

const connOver = (transport: ClientTransport): SoakConn => {
  const conn = new RpcConnection(transport);
  return { svc: Client.promises(ConformanceService, conn), close: () => conn.close() };
};

const forwardStderr = (name: string) => (line: string): void => { process.stderr.write(`[soak ${name} server] ${line}\n`); };

/** The stdio worker: its single connection is handed out once. */
const stdioTarget = async (): Promise<SoakTarget> => {
  const t = await spawnServer(process.execPath, [WORKER], { onStderr: forwardStderr('subprocess') });
  const pid = t.child.pid;
  if (pid === undefined) throw new Error('the stdio worker did not start');
  const conn = connOver(t);
  let handedOut = false;
  return {
    name: 'typescript-node-subprocess',
    pid,
    limits: NODE_LIMITS,
    connect: async () => {
      if (handedOut) throw new Error('a stdio worker serves exactly one connection');
      handedOut = true;
      // The connection lives as long as the process: closing it is the target's stop().
      return { svc: conn.svc, close: async () => {} };
    },
    stop: async () => {
      await conn.close();
      const code = await t.exited;
      if (code !== 0) throw new Error(`the stdio soak worker exited with code ${code}`);
    },
  };
};

/** The unix-socket worker (`--workers 2`): every connect() dials a new connection. */
const unixTarget = async (): Promise<SoakTarget> => {
  const dir = mkdtempSync(join(tmpdir(), 'vgi-soak-'));
  const child: ChildProcess = spawn(process.execPath, [WORKER, '--unix', join(dir, 'w.sock'), '--workers', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stderr! }).on('line', (l) => {
    if (!/^vgi-rpc: SIGTERM received, draining/.test(l)) forwardStderr('unix')(l);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(null));
  });
  if (line === null || !line.startsWith('UNIX:') || child.pid === undefined) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the unix soak worker did not listen (got ${String(line)})`);
  }
  const path = line.slice('UNIX:'.length);
  return {
    name: 'typescript-node-unix',
    pid: child.pid,
    limits: NODE_LIMITS,
    connect: async () => connOver(connectUnix(path)),
    stop: async () => {
      try {
        child.kill('SIGTERM');
        const { code, signal } = await exited;
        if (code !== 0) throw new Error(`the unix soak worker exited with ${code ?? signal} after SIGTERM`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
};

/** Live descendants of `pid` (recursive), from the parent pid field of every /proc/N/stat. */
const countDescendants = (pid: number): number => {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(rest[1]));
    } catch {
      // The process exited while we scanned.
    }
  }
  const descendants = new Set<number>([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (!descendants.has(child) && descendants.has(parent)) {
        descendants.add(child);
        grew = true;
      }
    }
  }
  return descendants.size - 1;
};

/** `sample_process_resources` on Linux /proc. */
const sampleProcess = (pid: number): Snapshot => {
  let status: string;
  let descriptors: number;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    descriptors = readdirSync(`/proc/${pid}/fd`).length;
  } catch (e) {
    throw new Error(`resource-soak worker ${pid} exited before sampling`, { cause: e });
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    if (m === null) throw new Error(`resource-soak worker ${pid}: no ${name} in /proc status (exited?)`);
    return Number(m[1]);
  };
  return { rss_bytes: field('VmRSS') * 1024, descriptors, threads: field('Threads'), children: countDescendants(pid) };
};

/** `_rss_slope`: least-squares RSS slope in bytes per epoch. */
const rssSlope = (samples: readonly Snapshot[]): number => {
  const n = samples.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = samples.reduce((s, x) => s + x.rss_bytes, 0) / n;
  let num = 0;
  let den = 0;
  samples.forEach((s, i) => {
    num += (i - meanX) * (s.rss_bytes - meanY);
    den += (i - meanX) ** 2;
  });
  return den === 0 ? 0 : num / den;
};

/** `_scale`: VGI_RPC_SOAK_SCALE, an integer 1..20 (default 1). */
const scale = (): number => {
  const raw = process.env.VGI_RPC_SOAK_SCALE ?? '1';
  const n = Number(raw);
  if (!/^\s*[+-]?\d+\s*$/.test(raw) || n < 1 || n > 20) throw new Error('VGI_RPC_SOAK_SCALE must be an integer from 1 through 20');
  return n;
};

/** `_settled_sample`: give request teardown 50 ms to quiesce, then sample. */
const settledSample = async (target: SoakTarget): Promise<Snapshot> => {
  await new Promise((r) => setTimeout(r, 50));
  return sampleProcess(target.pid);
};

interface Report {
  readonly target: string;
  readonly scenario: string;
  readonly operations: number;
  readonly baseline: Snapshot;
  readonly samples: readonly Snapshot[];
  readonly rss_slope_bytes_per_epoch: number;
}

/** `_build_report`, written to VGI_RPC_SOAK_REPORT_DIR when set. */
const buildReport = (target: SoakTarget, scenario: string, operations: number, baseline: Snapshot, samples: readonly Snapshot[]): Report => {
  const report: Report = {
    target: target.name,
    scenario,
    operations,
    baseline,
    samples,
    rss_slope_bytes_per_epoch: rssSlope([baseline, ...samples]),
  };
  const dir = process.env.VGI_RPC_SOAK_REPORT_DIR;
  if (dir !== undefined && dir !== '') {
    mkdirSync(dir, { recursive: true });
    const safe = `${target.name}-${scenario}`.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
    writeFileSync(join(dir, `${safe}.json`), `${JSON.stringify(report, null, 2)}\n`, 'utf8');
  }
  return report;
};

/** `_assert_report`: RSS growth and slope budgets, exact descriptor/thread/child drift budgets. */
const assertReport = (report: Report, limits: Limits): void => {
  const final = report.samples[report.samples.length - 1];
  expect(final, 'resource-soak report has no measured epochs').toBeDefined();
  if (final === undefined) return;
  const base = report.baseline;
  const problems: string[] = [];
  const rssGrowth = final.rss_bytes - base.rss_bytes;
  if (rssGrowth > limits.rssGrowthBytes) problems.push(`RSS retained ${rssGrowth} bytes (limit ${limits.rssGrowthBytes})`);
  if (report.rss_slope_bytes_per_epoch > limits.rssSlopeBytesPerEpoch) {
    problems.push(`RSS slope is ${report.rss_slope_bytes_per_epoch.toFixed(0)} bytes/epoch (limit ${limits.rssSlopeBytesPerEpoch})`);
  }
  const drift: [string, number, number, number][] = [
    ['descriptors', final.descriptors, base.descriptors, limits.descriptorGrowth],
    ['threads', final.threads, base.threads, limits.threadGrowth],
    ['children', final.children, base.children, limits.childGrowth],
  ];
  for (const [label, actual, start, limit] of drift) {
    if (actual - start > limit) problems.push(`${label} retained ${actual - start} (limit ${limit})`);
  }
  if (process.env.VGI_RPC_SOAK_VERBOSE === '1') process.stderr.write(`${JSON.stringify(report)}\n`);
  expect(problems, `${problems.join('; ')}\n${JSON.stringify(report, null, 2)}`).toEqual([]);
};

/** `_run_epochs`: warm up, baseline, then five measured epochs on one connection. */
const runEpochs = async (
  target: SoakTarget,
  scenario: string,
  warmUp: (svc: Svc) => Promise<void>,
  epoch: (svc: Svc) => Promise<number>,
): Promise<Report> => {
  const samples: Snapshot[] = [];
  let operations = 0;
  const conn = await target.connect();
  let baseline: Snapshot;
  try {
    await warmUp(conn.svc);
    baseline = await settledSample(target);
    for (let i = 0; i < 5; i++) {
      operations += await epoch(conn.svc);
      expect(await conn.svc.echo_int({ value: BigInt(operations) })).toBe(BigInt(operations));
      samples.push(await settledSample(target));
    }
  } finally {
    await conn.close();
  }
  return buildReport(target, scenario, operations, baseline, samples);
};

/** `math.isclose` with its default rel_tol 1e-9. */
const isClose = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

/** A fresh worker for one test (the reference's function-scoped fixture), stopped afterwards. */
const withTarget = async (make: () => SoakTarget | Promise<SoakTarget>, body: (t: SoakTarget) => Promise<void>): Promise<void> => {
  const target = await make();
  let failed = true;
  try {
    await body(target);
    failed = false;
  } finally {
    // A failure in the body is the one to report; a stop failure after a pass fails the test.
    if (failed) await target.stop().catch(() => undefined);
    else await target.stop();
  }
};

const TARGETS: readonly (readonly [string, () => SoakTarget | Promise<SoakTarget>])[] = [
  ['subprocess', stdioTarget],
  ['unix', unixTarget],
];

for (const [transport, make] of TARGETS) {
  describe(`TestResourceSoak [${transport}]`, () => {
    it('test_unary_reuse_plateaus', async () => {
      const perEpoch = 100 * scale();
      await withTarget(make, async (target) => {
        const report = await runEpochs(
          target,
          'unary-reuse',
          async (svc) => {
            for (let v = 0; v < 50; v++) expect(await svc.echo_int({ value: BigInt(v) })).toBe(BigInt(v));
          },
          async (svc) => {
            for (let v = 0; v < perEpoch; v++) {
              expect(await svc.echo_int({ value: BigInt(v) })).toBe(BigInt(v));
              const sum = await svc.add_floats({ a: v, b: 0.5 });
              expect(isClose(sum, v + 0.5), `add_floats(${v}, 0.5) = ${sum}`).toBe(true);
            }
            return perEpoch * 2;
          },
        );
        assertReport(report, target.limits);
      });
    }, TIMEOUT_MS);

    it('test_stream_error_and_cancel_churn_plateaus', async () => {
      const perEpoch = 10 * scale();
      // One completed stream, one failed mid-stream, one cancelled after its first batch.
      const cycle = async (svc: Svc): Promise<void> => {
        const produced = await svc.produce_n({ count: 3n });
        let batches = 0;
        try {
          for await (const _b of produced) batches++;
        } finally {
          await settle(produced);
        }
        expect(batches).toBe(3);

        await rpcError(async () => {
          const failing = await svc.produce_error_mid_stream({ emit_before_error: 1n });
          try {
            for await (const _b of failing) {
              // drain until the error
            }
          } finally {
            await settle(failing);
          }
        });

        const session = await svc.cancellable_producer();
        try {
          const iterator = session[Symbol.asyncIterator]();
          expect((await iterator.next()).done).toBe(false);
          await session.cancel();
          await iterator.return?.(undefined);
        } finally {
          await settle(session);
        }
      };
      await withTarget(make, async (target) => {
        const report = await runEpochs(
          target,
          'stream-error-cancel',
          async (svc) => {
            for (let i = 0; i < 3; i++) await cycle(svc);
          },
          async (svc) => {
            for (let i = 0; i < perEpoch; i++) await cycle(svc);
            return perEpoch * 3;
          },
        );
        assertReport(report, target.limits);
      });
    }, TIMEOUT_MS);

    it.skipIf(transport === 'subprocess')('test_connection_churn_plateaus', async () => {
      // Skipped on subprocess: a stdio worker has exactly one connection (its stdin/stdout) for its whole life.
      const perEpoch = 20 * scale();
      const once = async (target: SoakTarget, value: number): Promise<void> => {
        const conn = await target.connect();
        try {
          expect(await conn.svc.echo_int({ value: BigInt(value) })).toBe(BigInt(value));
        } finally {
          await conn.close();
        }
      };
      await withTarget(make, async (target) => {
        for (let v = 0; v < 5; v++) await once(target, v);
        const baseline = await settledSample(target);
        const samples: Snapshot[] = [];
        let operations = 0;
        for (let e = 0; e < 5; e++) {
          for (let v = 0; v < perEpoch; v++) {
            await once(target, v);
            operations++;
          }
          samples.push(await settledSample(target));
        }
        await once(target, operations);
        assertReport(buildReport(target, 'connection-churn', operations, baseline, samples), target.limits);
      });
    }, TIMEOUT_MS);
  });
}
