/**
 * A connected socket as the two ends of a connection, wherever it is served
 * (the main thread, a worker it is forwarded to, or the worker that accepted
 * it). When the connection is over our side is ended in an orderly way:
 * whatever the peer still sends (a request that crossed our end, the rest of
 * a stream after a framing error) is read and dropped until the peer closes
 * its side, because a socket closed with unread bytes resets the connection
 * (the peer would see ECONNRESET instead of our answers and our end).
 */
import type { Socket } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import type { ConnectionEnds } from '../../runtime/connection-bridge.js';

/**
 * How long an ended socket may wait for the peer to close its side before it
 * is destroyed (a peer that never closes must not hold a draining server).
 */
const LINGER_MS = 2_000;

const drop = (): void => undefined;

/**
 * End our side once everything is written, read and drop what the peer
 * still sends, and resolve once the socket has closed: when the peer closes
 * its side too, or after LINGER_MS.
 */
export const endSocket = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (socket.closed) {
      resolve();
      return;
    }
    socket.once('close', () => resolve());
    if (socket.destroyed) return;
    socket.removeAllListeners('data');
    socket.on('data', drop);
    socket.resume();
    const linger = (): void => {
      const timer = setTimeout(() => socket.destroy(), LINGER_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    };
    if (socket.writableFinished) linger();
    else {
      socket.once('finish', linger);
      if (!socket.writableEnded) socket.end();
    }
  });

/** How a socket connection is named in log lines: `unix connection #3`, `tcp connection #4 (127.0.0.1:50112)`. */
export const connectionLabel = (transportKind: TransportKind, seq: number, socket: Socket): string =>
  transportKind === 'tcp'
    ? `tcp connection #${seq} (${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'})`
    : `${transportKind} connection #${seq}`;

/** The connection ends of an accepted socket (a TCP socket gets TCP_NODELAY: pipelined small requests must not wait for Nagle). */
export const socketEnds = (socket: Socket, transportKind: TransportKind, label: string, limits?: ReaderLimits): ConnectionEnds => {
  if (transportKind === 'tcp') socket.setNoDelay(true);
  return {
    readable: socket,
    writable: socket,
    transportKind,
    label,
    ...(limits === undefined ? {} : { limits }),
    finish: () => endSocket(socket),
  };
};
