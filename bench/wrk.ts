/**
 * Running Debian's wrk (/usr/bin/wrk) as an HTTP load generator with its
 * cost shown: the report's numbers (requests/s, latency percentiles, socket
 * errors and non-2xx answers), wrk's own CPU (from /usr/bin/time), the
 * server process's CPU and the rest of the machine's busy time (/proc) over
 * the same run. Shared by bench/http-echo.ts and bench/http-rpc.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { CLK_TCK, machineBusyTicks, processTicks, runQueueWaitNs } from './proc-cpu.js';

/** The wrk binary. */
export const WRK = '/usr/bin/wrk';
/** GNU time, for wrk's CPU. */
export const TIME = '/usr/bin/time';

const run = promisify(execFile);

/** Why wrk cannot run here, or undefined when it can. */
export const wrkMissing = (): string | undefined => [WRK, TIME].map((t) => (existsSync(t) ? undefined : `${t} is not installed`)).find((x) => x !== undefined);

const MICROS: Record<string, number> = { us: 1, ms: 1e3, s: 1e6 };

/** A wrk duration (`613.39us`, `1.20ms`, `2.00s`) in microseconds. */
const micros = (s: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s.trim());
  return m === null ? Number.NaN : Number(m[1]) * MICROS[m[2]!]!;
};

/** The numbers of wrk's `--latency` report. */
export interface WrkReport {
  readonly rps: number;
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  /** The slowest answer, µs (the `Latency ... Max` column of the thread stats). */
  readonly max: number;
  /** Socket errors plus the non-2xx/3xx answers wrk counted itself. */
  readonly errors: number;
  /** Lines the Lua script printed that start with `CHECKED` (its own response checks), parsed as `key=value` pairs. */
  readonly checked: Readonly<Record<string, number>> | undefined;
}

/** Parse wrk's `--latency` report. */
export const parseWrk = (out: string): WrkReport => {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p50 = micros(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = micros(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const max = micros(/^\s*Latency\s+\S+\s+\S+\s+(\S+)/m.exec(out)?.[1] ?? '');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)) + non2xx;
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`could not read wrk's report:\n${out}`);
  const line = /^CHECKED (.*)$/m.exec(out)?.[1];
  const checked = line === undefined ? undefined : Object.fromEntries(line.trim().split(/\s+/).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
  return { rps, requests, p50, p99, max, errors, checked };
};

/** How wrk loads: threads, connections, a Lua script, a URL. */
export interface WrkLoad {
  readonly threads: number;
  readonly connections: number;
  readonly script: string;
  readonly url: string;
}

/** wrk's arguments for a run of `seconds`. */
export const wrkArgs = (load: WrkLoad, seconds: number): string[] =>
  ['-t', String(load.threads), '-c', String(load.connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', load.script, load.url];

/** A measured wrk run. */
export interface WrkRun {
  readonly report: WrkReport;
  /** Wall time of the run, s. */
  readonly seconds: number;
  /** Server process CPU over the run, % of one core (200 = both cores). */
  readonly serverCpuPct: number;
  /** Server CPU seconds over the run. */
  readonly serverCpuSeconds: number;
  /** wrk's CPU (user+system), % of one core. */
  readonly wrkCpuPct: number;
  readonly wrkCpuSeconds: number;
  /** Busy CPU of everything else on the machine, % of one core. */
  readonly otherCpuPct: number;
  /** Time the server's threads spent runnable but waiting for a core, summed over threads, % of the run (see runQueueWaitNs). */
  readonly serverRunQueuePct: number;
  /** CLOCK_MONOTONIC µs (process.hrtime) at the start and end of the run, to cut profiles to it. */
  readonly fromUs: number;
  readonly toUs: number;
}

/** A warm-up run (not measured). */
export const warmUp = async (load: WrkLoad, seconds: number): Promise<void> => {
  await run(WRK, wrkArgs(load, seconds));
};

/** One measured run against the server process `pid`. */
export const measuredRun = async (load: WrkLoad, seconds: number, pid: number): Promise<WrkRun> => {
  const server0 = processTicks(pid);
  const wait0 = runQueueWaitNs(pid);
  const machine0 = machineBusyTicks();
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const t0 = performance.now();
  const { stdout, stderr } = await run(TIME, ['-f', 'WRK-CPU %U %S', WRK, ...wrkArgs(load, seconds)]);
  const wall = (performance.now() - t0) / 1000;
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const serverTicks = processTicks(pid) - server0;
  const serverWaitNs = runQueueWaitNs(pid) - wait0;
  const machineTicks = machineBusyTicks() - machine0;
  const cpu = /WRK-CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  if (cpu === null) throw new Error(`no CPU line from ${TIME}: ${stderr}`);
  const wrkCpuSeconds = Number(cpu[1]) + Number(cpu[2]);
  const serverCpuSeconds = serverTicks / CLK_TCK;
  const serverCpuPct = (serverCpuSeconds / wall) * 100;
  const wrkCpuPct = (wrkCpuSeconds / wall) * 100;
  return {
    report: parseWrk(stdout),
    seconds: wall,
    serverCpuPct,
    serverCpuSeconds,
    wrkCpuPct,
    wrkCpuSeconds,
    otherCpuPct: Math.max(0, (machineTicks / CLK_TCK / wall) * 100 - serverCpuPct - wrkCpuPct),
    serverRunQueuePct: (serverWaitNs / 1e9 / wall) * 100,
    fromUs,
    toUs,
  };
};

/**
 * The Lua that checks every answer (status 200 and no `X-VGI-RPC-Error`
 * header) and prints `CHECKED ok=N bad=M` at the end; the script defines
 * `threads` (filled by its `setup`).
 */
export const CHECK_ANSWERS_LUA = `ok = 0
bad = 0
function response(status, headers, body)
  if status ~= 200 or headers["X-VGI-RPC-Error"] ~= nil or headers["x-vgi-rpc-error"] ~= nil then bad = bad + 1 else ok = ok + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("CHECKED ok=%d bad=%d\\n", o, b))
end
`;

/**
 * A Lua script that POSTs the file `bodyFile` with `contentType`, checks
 * every answer (status 200 and no `X-VGI-RPC-Error` header) and prints
 * `CHECKED ok=N bad=M` at the end. Checking needs wrk's `response()` hook,
 * which makes wrk hand every response to Lua: it costs wrk some CPU, the
 * same for every server measured with it.
 */
export const checkingPostScript = (bodyFile: string, contentType: string): string => `
local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = ${JSON.stringify(contentType)}
local threads = {}
function setup(thread) table.insert(threads, thread) end
${CHECK_ANSWERS_LUA}`;
