/**
 * A stdio server: stdout carries only Arrow IPC (console output is
 * redirected to stderr); the one connection (stdin/stdout) is served on the
 * runtime until stdin ends or a drain stops it.
 */
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ConnectionOutcome } from '../../runtime/serve-connection.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';

/** Keep stdout for Arrow bytes only: route console printing to stderr. */
export const reserveStdout = (): void => {
  const toErr = (...args: unknown[]): void => { process.stderr.write(`${args.map(String).join(' ')}\n`); };
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
};

/**
 * Serve this process's stdin/stdout as one connection on `runtime`. Settles
 * when the connection is finished: stdin ended (or a drain stopped reading)
 * and every answer is written; `error` names a framing error it could not
 * resynchronise from.
 */
export const serveStdio = async (runtime: RpcRuntime, limits?: ReaderLimits): Promise<ConnectionOutcome> => {
  reserveStdout();
  const served = runtime.serve({
    readable: process.stdin,
    writable: process.stdout,
    transportKind: 'pipe',
    label: 'stdio',
    finish: () => undefined,
    ...(limits === undefined ? {} : { limits }),
  });
  runtime.onDrain(() => process.stdin.pause());
  const outcome = await served.done;
  process.stdin.destroy();
  return outcome;
};
