/**
 * Process entry for a socket server (unix or tcp): build the dispatcher,
 * listen, announce the discovery line on stdout (the only thing written
 * there), serve until SIGTERM/SIGINT, then stop accepting and let open
 * connections finish (a second signal exits at once). A listen failure, such
 * as a unix path owned by a live server, ends the process with a clear
 * message on stderr and exit code 1.
 */
import type { Layer } from 'effect';
import { makeDispatcher, type Dispatcher, type DispatcherOptions, type Hostable } from '../../src/protocol/dispatcher.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { reserveStdout } from '../pipe/stdio-main.js';
import type { SocketListener } from './socket-listener.js';

/** Options of `runSocketServer`. */
export interface SocketMainOptions extends DispatcherOptions {
  /** Connections still open this long after a signal are cut (default: wait for them). */
  readonly drainGraceMs?: number;
}

const writeStdout = (text: string): Promise<void> =>
  new Promise((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));

/** Serve `services` with the listener `listen` starts until a signal arrives; sets process.exitCode. */
export const runSocketServer = async <E>(
  services: readonly Hostable[],
  layer: Layer.Layer<ServiceImpl<any>, E, never>,
  listen: (dispatcher: Dispatcher) => Promise<SocketListener<unknown>>,
  options: SocketMainOptions = {},
): Promise<void> => {
  reserveStdout();
  const { dispatcher, dispose } = await makeDispatcher(services, layer, options);
  let listener: SocketListener<unknown>;
  try {
    listener = await listen(dispatcher);
  } catch (e) {
    process.stderr.write(`vgi-rpc: cannot start the server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
    await dispose();
    return;
  }
  let signalled = 0;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled++;
    if (signalled > 1) process.exit(130);
    process.stderr.write(`vgi-rpc: ${sig} received, no longer accepting; waiting for ${listener.connections} open connection(s)\n`);
    stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await writeStdout(`${listener.discovery}\n`);
    await stopped;
    await listener.close(options.drainGraceMs === undefined ? {} : { graceMs: options.drainGraceMs });
    process.exitCode = 0;
  } catch (e) {
    process.stderr.write(`vgi-rpc: socket server failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
    await listener.close({ graceMs: 0 }).catch(() => undefined);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await dispose();
  }
};
