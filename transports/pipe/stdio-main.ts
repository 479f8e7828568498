/**
 * A stdio server: stdout carries only Arrow IPC (console output, and
 * everything worker threads write to their stdout, goes to stderr: see
 * runtime/stdout-reservation); the one connection (stdin/stdout) is served
 * on the runtime until stdin ends or a drain stops it.
 */
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ConnectionOutcome } from '../../runtime/serve-connection.js';
import { reserveStdout } from '../../runtime/stdout-reservation.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';

/**
 * Serve this process's stdin/stdout as one connection on `runtime`. Settles
 * when the connection is finished: stdin ended (or a drain stopped reading)
 * and every answer is written; `error` names a framing error it could not
 * resynchronise from. Reserve stdout (`reserveStdout`) before the runtime
 * starts its worker threads, so that what they print goes to stderr.
 */
export const serveStdio = async (runtime: RpcRuntime, limits?: ReaderLimits): Promise<ConnectionOutcome> => {
  const stdout = reserveStdout();
  const served = runtime.serve({
    readable: process.stdin,
    writable: stdout,
    transportKind: 'pipe',
    label: 'stdio',
    finish: () => undefined,
    ...(limits === undefined ? {} : { limits }),
  });
  runtime.onDrain(() => { process.stdin.pause(); });
  const outcome = await served.done;
  process.stdin.destroy();
  return outcome;
};
