/**
 * The client side of a socket connection (unix or tcp) as a ClientTransport.
 * Connecting is asynchronous but the transport is usable at once: writes
 * queue until the socket connects, and a connect failure surfaces as the
 * first call's transport error (or through `connected`).
 */
import type { Socket } from 'node:net';
import type { ClientTransport } from '../../src/client/connection.js';
import { type OnRead, socketFrames, writerTo } from '../../runtime/node-stream-io.js';

/** A client transport over a socket. */
export interface SocketTransport extends ClientTransport {
  readonly socket: Socket;
  /** Resolves once connected; rejects with the connect error. */
  readonly connected: Promise<void>;
}

/**
 * A client transport over the socket `open` creates (connecting or
 * connected) with the `onread` option it is given, so reads go straight
 * into the frame reader. close() ends our side and resolves once the socket
 * has closed.
 */
export const socketTransport = (open: (onread: OnRead) => Socket): SocketTransport => {
  const { socket, frames } = socketFrames(open);
  const connected = new Promise<void>((resolve, reject) => {
    if (!socket.connecting && !socket.destroyed) resolve();
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  connected.catch(() => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let closing = false;
  let failed = false;
  socket.once('error', () => { failed = true; });
  return {
    socket,
    connected,
    frames,
    write: writerTo(socket),
    close: async () => {
      closing = true;
      if (!socket.destroyed) socket.end();
      await closed;
    },
    // Destroyed here: not ended by the server ('end'), not broken by an error.
    closedHere: () => closing || (socket.destroyed && !socket.readableEnded && !failed),
  };
};
