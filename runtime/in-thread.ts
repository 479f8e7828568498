/**
 * Serving a connection on the main thread (a pool of size 0): the same
 * control surface as a connection forwarded to a worker, for the smallest
 * deployments and for measuring what the pool buys.
 */
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import type { ConnectionEnds, ForwardedConnection } from './connection-bridge.js';
import { framesFrom, peerGone, writerTo } from './node-stream-io.js';
import { serveConnection } from './serve-connection.js';

/** Serve `ends` with `dispatcher` on this thread. */
export const serveInThread = (dispatcher: Dispatcher, ends: ConnectionEnds): ForwardedConnection => {
  let startDrain: () => void = () => {};
  let startShutdown: (d: string) => void = () => {};
  const drain = new Promise<void>((r) => { startDrain = r; });
  const shutdown = new Promise<string>((r) => { startShutdown = r; });
  const conn = {
    frames: framesFrom(ends.readable, ends.limits),
    write: writerTo(ends.writable),
    transportKind: ends.transportKind,
    closed: peerGone(ends.writable),
    drain,
    shutdown,
  };
  const done = serveConnection(dispatcher, conn, ends.label).then((outcome) => {
    if (ends.finish !== undefined) ends.finish(outcome);
    else if (!ends.writable.writableEnded) ends.writable.end();
    return outcome;
  });
  return { drain: () => startDrain(), shutdown: (d) => startShutdown(d), done };
};
