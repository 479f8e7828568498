/**
 * A connected socket as the two ends of a connection, wherever it is served
 * (the main thread, a worker it is forwarded to, or the worker that accepted
 * it). When the connection is over our side is ended; after a framing error
 * the peer's further bytes are read and dropped so our error stream reaches
 * it before the close.
 */
import type { Socket } from 'node:net';
import type { TransportKind } from '../src/service/call-context.js';
import type { ReaderLimits } from '../src/wire/stream-reader.js';
import type { ConnectionEnds } from './connection-bridge.js';

/**
 * How long an ended socket may wait for the peer to close its side before it
 * is destroyed (a peer that never closes must not hold a draining server).
 */
const LINGER_MS = 2_000;

/** End our side once everything is written; destroy the socket if the peer has not closed within LINGER_MS. */
export const endSocket = (socket: Socket): void => {
  if (socket.destroyed) return;
  socket.end(() => {
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
};

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
    finish: (outcome) => {
      if (outcome.error !== undefined) {
        socket.removeAllListeners('data');
        socket.on('data', () => undefined);
        socket.resume();
      }
      endSocket(socket);
    },
  };
};
