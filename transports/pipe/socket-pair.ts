/**
 * A connected pair of unix sockets, made without touching the file system
 * (Linux abstract namespace): one end stays here and reads straight into a
 * FrameSource (no buffer allocated per read, large bodies read in place),
 * the other is meant to become a child process's stdout.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type Socket, createConnection, createServer } from 'node:net';
import type { FrameSource } from '../../src/wire/frame-source.js';
import { socketFrames } from '../../runtime/node-stream-io.js';

/** Our end (reading into `frames`) and the far end to hand to a child. */
export interface SocketPair {
  readonly frames: FrameSource;
  readonly near: Socket;
  readonly far: Socket;
}

/** True where abstract unix socket names exist. */
export const socketPairsAvailable = process.platform === 'linux';

/** Make a connected socket pair (Linux only: see socketPairsAvailable). */
export const socketPair = async (): Promise<SocketPair> => {
  const path = `\0vgi-rpc-${process.pid}-${randomBytes(8).toString('hex')}`;
  const server = createServer({ pauseOnConnect: true });
  try {
    server.listen(path);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const { socket: near, frames } = socketFrames((onread) => createConnection({ path, onread }));
    const [far] = await accepted;
    return { frames, near, far };
  } finally {
    server.close();
  }
};
