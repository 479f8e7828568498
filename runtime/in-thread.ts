/**
 * Serving a connection on the thread that holds its ends (the main thread
 * with a pool of size 0, or the worker that accepted the socket): the same
 * control surface as a connection forwarded to a worker.
 */
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import { concatBytes } from '../src/wire/batch-encoder.js';
import type { ConnectionEnds, ForwardedConnection } from './connection-bridge.js';
import { framesFrom, peerGone, writerTo } from './node-stream-io.js';
import { PeerProbe } from './peer-probe.js';
import { serveConnection } from './serve-connection.js';

/** A connection served on this thread. */
export interface InThreadConnection extends ForwardedConnection {
  /** Write `bytes` as the last thing the peer gets and end our side (a dying thread's last words). */
  farewell(bytes: Uint8Array): void;
}

/** Serve `ends` with `dispatcher` on this thread. */
export const serveInThread = (dispatcher: Dispatcher, ends: ConnectionEnds): InThreadConnection => {
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
  };
  const done = serveConnection(dispatcher, conn, ends.label).then((outcome) => {
    probe?.stop();
    if (ends.finish !== undefined) ends.finish(outcome);
    else if (!writable.writableEnded) writable.end();
    return outcome;
  });
  return {
    drain: () => startDrain(),
    shutdown: (d) => startShutdown(d),
    done,
    farewell: (bytes) => {
      if (writable.destroyed || writable.writableEnded) return;
      writable.end(probe === undefined ? bytes : concatBytes(probe.settle([bytes])));
    },
  };
};
