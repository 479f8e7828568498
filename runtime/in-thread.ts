/**
 * Serving a connection on the thread that holds its ends (the main thread
 * with a pool of size 0, or the worker that accepted the socket): the same
 * control surface as a connection forwarded to a worker.
 */
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import { type ConnectionEnds, type ForwardedConnection, finishEnds } from './connection-bridge.js';
import { framesFrom, peerGone, writerTo } from './node-stream-io.js';
import { PeerProbe } from './peer-probe.js';
import { afterNextPoll } from './quiet-close.js';
import { serveConnection } from './serve-connection.js';

/** A connection served on this thread. */
export interface InThreadConnection extends ForwardedConnection {
  /** Write `bytes` as the last thing the peer gets and end our side (a dying thread's last words). */
  farewell(bytes: Uint8Array): void;
}

/** Serve `ends` with `dispatcher` on this thread; `refuse`: it reached a draining server (see ByteConnection.refuse). */
export const serveInThread = (dispatcher: Dispatcher, ends: ConnectionEnds, refuse?: string): InThreadConnection => {
  let startDrain: () => void = () => {};
  let startShutdown: (d: string) => void = () => {};
  const drain = new Promise<void>((r) => { startDrain = r; });
  const shutdown = new Promise<string>((r) => { startShutdown = r; });
  const { writable } = ends;
  const probe = PeerProbe.of(writable, ends.transportKind);
  const write = writerTo(writable);
  const conn = {
    frames: framesFrom(ends.readable, ends.limits),
    write: probe === undefined ? write : (chunks: readonly Uint8Array[]) => write(probe.settle(chunks)),
    transportKind: ends.transportKind,
    closed: peerGone(writable),
    drain,
    shutdown,
    ...(probe === undefined ? {} : { checkPeer: () => probe.check() }),
    ...(refuse === undefined ? {} : { refuse }),
  };
  const done = serveConnection(dispatcher, conn, ends.label).then(async (outcome) => {
    probe?.stop();
    await finishEnds(ends, outcome);
    return outcome;
  });
  // Requests the kernel already holds for this connection were sent before the drain: read them first.
  const drainAfterPoll = (): void => void afterNextPoll().then(startDrain);
  if (refuse !== undefined) drainAfterPoll();
  return {
    drain: drainAfterPoll,
    shutdown: (d) => startShutdown(d),
    done,
    farewell: (bytes) => {
      if (writable.destroyed || writable.writableEnded) return;
      writable.end(probe === undefined ? bytes : probe.settleOne(bytes));
    },
  };
};
