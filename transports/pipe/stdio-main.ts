/**
 * Process entry for a stdio server: stdout carries only Arrow IPC (console
 * output is redirected to stderr); the one connection (stdin/stdout) is
 * served on the runtime. The process exits when stdin ends (0), after a
 * framing error it cannot resynchronise from (2, with one line on stderr),
 * or after SIGTERM/SIGINT drains it (0; a second signal exits at once).
 */
import { RpcRuntime, type RuntimeOptions } from '../../runtime/rpc-runtime.js';
import { drainOnSignals } from '../../runtime/signals.js';

/** Keep stdout for Arrow bytes only: route console printing to stderr. */
export const reserveStdout = (): void => {
  const toErr = (...args: unknown[]): void => { process.stderr.write(`${args.map(String).join(' ')}\n`); };
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
};

/** Serve on stdin/stdout. Unless given, the pool size is 0: one connection gains nothing from a hop to a worker. */
export const runStdioServer = async <E>(options: RuntimeOptions<E>): Promise<void> => {
  reserveStdout();
  const runtime = await RpcRuntime.start({ ...options, workers: options.workers ?? 0 });
  drainOnSignals(runtime);
  const served = runtime.serve({ readable: process.stdin, writable: process.stdout, transportKind: 'pipe', label: 'stdio', finish: () => undefined });
  runtime.onDrain(() => { process.stdin.pause(); });
  const outcome = await served.done;
  process.stdin.destroy();
  await runtime.drain();
  process.exit(outcome.error === undefined ? 0 : 2);
};
