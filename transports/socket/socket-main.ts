/**
 * Process entry for a socket server (unix or tcp): start the runtime (a pool
 * of worker threads, or the main thread), listen, announce the discovery
 * line on stdout (the only thing written there: console output, and what
 * worker threads write to their stdout, goes to stderr), and drain on SIGTERM/SIGINT
 * (a second signal exits at once). A listen failure, such as a unix path
 * owned by a live server, ends the process with a clear message on stderr
 * and exit code 1.
 */
import { RpcRuntime, type RuntimeOptions } from '../../runtime/rpc-runtime.js';
import { drainOnSignals } from '../../runtime/signals.js';
import { reserveStdout } from '../../runtime/stdout-reservation.js';
import type { SocketListener } from './socket-listener.js';

const writeTo = (stdout: NodeJS.WriteStream, text: string): Promise<void> =>
  new Promise((resolve, reject) => stdout.write(text, (e) => (e ? reject(e) : resolve())));

/** Serve with the listener `listen` starts until a signal drains the runtime; the process exits when the drain is done. */
export const runSocketServer = async <E>(options: RuntimeOptions<E>, listen: (runtime: RpcRuntime) => Promise<SocketListener<unknown>>): Promise<void> => {
  const stdout = reserveStdout();
  const runtime = await RpcRuntime.start(options);
  let listener: SocketListener<unknown>;
  try {
    listener = await listen(runtime);
  } catch (e) {
    process.stderr.write(`vgi-rpc: cannot start the server: ${e instanceof Error ? e.message : String(e)}\n`);
    await runtime.shutdown();
    process.exit(1);
  }
  drainOnSignals(runtime);
  await writeTo(stdout, `${listener.discovery}\n`);
};
