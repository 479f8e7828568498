/**
 * Handing one accepted socket to the runtime, which serves it on a worker
 * (or the main thread). When the connection is over, our side is ended;
 * after a framing error the peer's further bytes are read and dropped so our
 * error stream reaches it before the close.
 */
import type { Socket } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ForwardedConnection } from '../../runtime/connection-bridge.js';

/** Options shared by every connection of a socket server. */
export interface SocketServeOptions {
  /** Byte caps for incoming IPC messages (default: the reader's defaults). */
  readonly limits?: ReaderLimits;
}

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

/** Serve one accepted socket with `runtime`. */
export const serveSocket = (runtime: RpcRuntime, socket: Socket, transportKind: TransportKind, label: string, options: SocketServeOptions = {}): ForwardedConnection =>
  runtime.serve({
    readable: socket,
    writable: socket,
    transportKind,
    label,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    finish: (outcome) => {
      if (outcome.error !== undefined) {
        socket.removeAllListeners('data');
        socket.on('data', () => undefined);
        socket.resume();
      }
      endSocket(socket);
    },
  });
