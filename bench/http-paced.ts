/**
 * Running bench/http-paced.c (an open-loop paced HTTP client in C, see that
 * file) against a server, with the server's CPU and run-queue wait over
 * the same window.
 */
import { spawn } from 'node:child_process';
import { CLK_TCK, processTicks, runQueueWaitNs } from './proc-cpu.js';

/** What one paced run measured (latencies in µs; `from_sent`: from when each request was written, not when it was due). */
export interface PacedResult {
  readonly rate: number;
  readonly requests: number;
  readonly bad: number;
  readonly late_sends: number;
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly p999_us: number;
  readonly max_us: number;
  readonly sent_p50_us: number;
  readonly sent_p99_us: number;
  readonly sent_max_us: number;
  /** The client's CPU over the window, % of one core. */
  readonly client_cpu_pct: number;
  /** The server process's CPU over the window (warm-up included), % of one core. */
  readonly server_cpu_pct: number;
  /** The server's threads' time runnable without a free core, summed, % of the window. */
  readonly server_wait_pct: number;
}

/** What a paced run sends. */
export interface PacedLoad {
  readonly port: number;
  readonly path: string;
  readonly bodyFile: string;
  /** One `VGI-Session` token per line, used in turn; undefined: none. */
  readonly tokensFile?: string;
  readonly connections: number;
  readonly rate: number;
}

/** Run `binary` (the compiled bench/http-paced.c) with `load` for `warmup` then `seconds` seconds, beside server process `pid`. */
export const pacedRun = (binary: string, load: PacedLoad, warmup: number, seconds: number, pid: number): Promise<PacedResult> =>
  new Promise((resolve, reject) => {
    const args = [String(load.port), load.path, load.bodyFile, load.tokensFile ?? '-', String(load.connections), String(load.rate), String(warmup), String(seconds)];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const t0 = performance.now();
    const cpu0 = processTicks(pid);
    const wait0 = runQueueWaitNs(pid);
    child.once('error', reject);
    child.once('exit', (code) => {
      const elapsed = (performance.now() - t0) / 1000;
      if (code !== 0) {
        reject(new Error(`http-paced exited ${code}: ${err.trim()}`));
        return;
      }
      const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<PacedResult, 'client_cpu_pct' | 'server_cpu_pct' | 'server_wait_pct'> & { cpu_us: number };
      const { cpu_us, ...rest } = r;
      resolve({
        ...rest,
        client_cpu_pct: cpu_us / 1e4 / seconds,
        server_cpu_pct: ((processTicks(pid) - cpu0) / CLK_TCK / elapsed) * 100,
        server_wait_pct: ((runQueueWaitNs(pid) - wait0) / 1e9 / elapsed) * 100,
      });
    });
  });
