/**
 * Binding Node byte streams (pipes, sockets) to the protocol: a readable
 * feeds a FrameSource with pause/resume backpressure, and a writable takes
 * response chunks (small responses coalesced into one write, large ones
 * corked into one writev) and reports when it can take more.
 */
import type { OnReadOpts, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { FrameSource } from '../src/wire/frame-source.js';
import type { ReaderLimits } from '../src/wire/stream-reader.js';
import { concatBytes } from '../src/wire/batch-encoder.js';

/** Feed `readable` into a new FrameSource. */
export const framesFrom = (readable: Readable, limits?: ReaderLimits): FrameSource => {
  const frames = new FrameSource({ pause: () => readable.pause(), resume: () => readable.resume() }, limits);
  readable.on('data', (chunk: Buffer) => frames.push(chunk));
  endFrames(readable, frames);
  return frames;
};

/** Node's `onread` socket option: reads land in memory the reader provides. */
export type OnRead = OnReadOpts;

/**
 * A socket whose reads go straight into a new FrameSource: `open` creates
 * the socket with the `onread` option given to it. No buffer is allocated
 * per read: bytes land in a reused scratch buffer (copied out only as far
 * as they are kept) or directly in the body of a large message.
 */
export const socketFrames = (open: (onread: OnRead) => Socket, limits?: ReaderLimits): { socket: Socket; frames: FrameSource } => {
  let socket: Socket | undefined;
  const frames = new FrameSource({ pause: () => socket?.pause(), resume: () => socket?.resume() }, limits);
  socket = open({ buffer: () => frames.readTarget(), callback: (n, buf) => { frames.received(n, buf); return true; } });
  endFrames(socket, frames);
  return { socket, frames };
};

/** End or fail `frames` with the end, close or error of `readable`. */
const endFrames = (readable: Readable, frames: FrameSource): void => {
  readable.on('end', () => frames.end());
  readable.on('close', () => frames.end());
  readable.on('error', (e: Error) => frames.fail(e));
};

/**
 * Resolves when the peer is gone: the writable side errored (EPIPE,
 * ECONNRESET) or closed before we ended it.
 */
export const peerGone = (writable: Writable): Promise<string> =>
  new Promise((resolve) => {
    writable.once('error', (e: Error) => resolve(`${e.name}: ${e.message}`));
    writable.once('close', () => { if (!writable.writableFinished) resolve('the connection closed'); });
  });

const COALESCE_BYTES = 256 * 1024;

/** A chunk writer over `writable` that resolves when the stream has room again. */
export const writerTo = (writable: Writable): ((chunks: readonly Uint8Array[]) => void | Promise<void>) => {
  let failure: Error | undefined;
  // One wait for 'drain' shared by every write made while the stream is full
  // (pipelined callers write without waiting, and must not add a listener each).
  let drained: Promise<void> | undefined;
  const waitForDrain = (): Promise<void> =>
    (drained ??= new Promise<void>((resolve, reject) => {
      const done = (): void => {
        writable.off('drain', done);
        writable.off('close', closed);
        drained = undefined;
        resolve();
      };
      const closed = (): void => {
        writable.off('drain', done);
        drained = undefined;
        reject(failure ?? new Error('the connection closed while writing'));
      };
      writable.on('drain', done);
      writable.on('close', closed);
    }));
  writable.on('error', (e: Error) => { failure ??= e; });
  return (chunks) => {
    if (failure !== undefined) return Promise.reject(failure);
    if (writable.destroyed || writable.writableEnded) return Promise.reject(new Error('the connection is closed'));
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    let ok: boolean;
    if (total <= COALESCE_BYTES || chunks.length === 1) {
      ok = writable.write(concatBytes(chunks));
    } else {
      writable.cork();
      ok = true;
      for (const c of chunks) ok = writable.write(c) && ok;
      writable.uncork();
    }
    return ok ? undefined : waitForDrain();
  };
};
