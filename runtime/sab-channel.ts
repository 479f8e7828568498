/**
 * A duplex channel between two threads: two rings (see sab-ring.ts), one per
 * direction. The buffers are plain SharedArrayBuffers, so the channel
 * description travels to another thread in a postMessage or workerData
 * (shared, not copied); each thread opens its side there.
 */
import type { Worker } from 'node:worker_threads';
import { type RingEndOptions, RingReader, RingWriter, createRing, markCrashed } from './sab-ring.js';

/** The shareable description of a channel: side `a` writes `aToB` and reads `bToA`. */
export interface SabChannel {
  readonly aToB: SharedArrayBuffer;
  readonly bToA: SharedArrayBuffer;
}

/** A side of a channel. */
export type ChannelSide = 'a' | 'b';

/** Default bytes per direction: small frames batch well, large ones stream through. */
export const DEFAULT_RING_BYTES = 256 * 1024;

/** Allocate a channel with `capacity` data bytes per direction. */
export const createSabChannel = (capacity: number = DEFAULT_RING_BYTES): SabChannel => ({ aToB: createRing(capacity), bToA: createRing(capacity) });

/** One side's ends of a channel. */
export interface ChannelEnd {
  readonly reader: RingReader;
  readonly writer: RingWriter;
}

/** Open `side` of `channel` in this thread. */
export const openSide = (channel: SabChannel, side: ChannelSide, options: RingEndOptions = {}): ChannelEnd =>
  side === 'a'
    ? { reader: RingReader.attach(channel.bToA, options), writer: RingWriter.attach(channel.aToB, options) }
    : { reader: RingReader.attach(channel.aToB, options), writer: RingWriter.attach(channel.bToA, options) };

/** Mark `side`'s ends crashed (its thread died with `exitCode`): the other side wakes with RingError 'peer-crashed'. */
export const markSideCrashed = (channel: SabChannel, side: ChannelSide, exitCode: number): void => {
  markCrashed(side === 'a' ? channel.aToB : channel.bToA, 'writer', exitCode);
  markCrashed(side === 'a' ? channel.bToA : channel.aToB, 'reader', exitCode);
};

/**
 * Watch the thread that holds `side` of `channel`: when `worker` exits,
 * that side's ends are marked crashed (ends it closed cleanly stay closed).
 * Returns the function that stops watching.
 */
export const watchThread = (worker: Worker, channel: SabChannel, side: ChannelSide): (() => void) => {
  const onExit = (code: number): void => markSideCrashed(channel, side, code);
  worker.once('exit', onExit);
  return () => void worker.off('exit', onExit);
};
