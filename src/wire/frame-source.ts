/**
 * An awaitable source of IPC frames fed from any byte stream. Transports push
 * chunks in; the protocol pulls frames out. When unread input exceeds the
 * high-water mark the transport is asked to pause, and resumed once drained.
 */
import { type Frame, type ReaderLimits, StreamReader, defaultReaderLimits } from './stream-reader.js';

/** Flow control hooks a transport provides. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** Size of the per-thread scratch buffer for reads into provided memory. */
export const SCRATCH_BYTES = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_BYTES);
/** A body missing fewer bytes than this is read through the scratch buffer, so one read can also take what follows it. */
const DIRECT_READ_MIN = 16 * 1024;

/** Pull side of a byte stream, parsed into IPC frames. */
export class FrameSource {
  private readonly reader: StreamReader;
  private waiter: { resolve: () => void } | undefined;
  private error: Error | undefined;
  private paused = false;
  private readonly highWater: number;
  private endListeners: (() => void)[] | undefined = [];

  /** Create a source; `flow` pauses and resumes the underlying stream. */
  constructor(private readonly flow?: FlowControl, limits: ReaderLimits = defaultReaderLimits, highWaterBytes = 4 * 1024 * 1024) {
    this.reader = new StreamReader(limits);
    this.highWater = highWaterBytes;
  }

  /** Feed bytes received from the transport. */
  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
    this.arrived();
  }

  /**
   * Where the transport should read its next bytes into (for reads into
   * memory the caller provides, like Node's `onread`): straight into a large
   * body being received, or else a scratch buffer shared by the thread.
   * Report each read with `received` before the next read starts.
   */
  readTarget(): Uint8Array {
    return this.reader.bodyTarget(DIRECT_READ_MIN) ?? scratch;
  }

  /**
   * How many bytes a reader should wait for before reading into `target`
   * (what `readTarget()` returned): the rest of a large body, else 1.
   */
  wants(target: Uint8Array): number {
    return target.buffer === scratch.buffer ? 1 : target.byteLength;
  }

  /** `n` bytes were read into `target`, the buffer `readTarget()` returned. */
  received(n: number, target: Uint8Array): void {
    if (target === scratch) this.reader.pushCopy(n === scratch.byteLength ? scratch : scratch.subarray(0, n));
    else this.reader.filledBody(n);
    this.arrived();
  }

  /** Input arrived: pause the transport above the high-water mark, wake the reader. */
  private arrived(): void {
    if (!this.paused && this.flow !== undefined && this.reader.bufferedBytes > this.highWater) {
      this.paused = true;
      this.flow.pause();
    }
    this.wake();
  }

  /** The transport reached end of input. */
  end(): void {
    this.reader.end();
    this.wake();
    this.ended();
  }

  /** The transport failed; pending and future reads reject with `err`. */
  fail(err: Error): void {
    this.error ??= err;
    this.reader.end();
    this.wake();
    this.ended();
  }

  /** True once the input has ended or failed (bytes may still be buffered). */
  get inputEnded(): boolean {
    return this.endListeners === undefined;
  }

  /**
   * Call `f` once when the input ends or fails, at once if it already has
   * (the protocol watches for a peer that ends its input while a call runs).
   */
  onEnd(f: () => void): void {
    if (this.endListeners === undefined) f();
    else this.endListeners.push(f);
  }

  private ended(): void {
    const listeners = this.endListeners;
    this.endListeners = undefined;
    if (listeners !== undefined) for (const f of listeners) f();
  }

  /** True while inside a stream (after its schema, before its EOS). */
  get inStream(): boolean {
    return this.reader.inStream;
  }

  /** Bytes received and not yet parsed (a request already on its way, when non-zero). */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }

  /**
   * Wake a pending `nextUnless()` without a frame, so its caller can look at
   * why (an actor being interrupted while it waits for input).
   */
  wakeWaiter(): void {
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve();
    }
  }

  /**
   * The next frame if it can be parsed from bytes already received, without
   * waiting; undefined otherwise. Throws like `next()` rejects.
   */
  tryNext(): Frame | null | undefined {
    if (this.error !== undefined) throw this.error;
    const f = this.reader.read();
    if (f !== undefined && this.paused && this.reader.bufferedBytes <= this.highWater / 2) {
      this.paused = false;
      this.flow?.resume();
    }
    return f;
  }

  /** Next frame, or null when the input ended cleanly between streams. Rejects with a typed wire error. */
  next(): Promise<Frame | null> {
    return this.nextUnless(never) as Promise<Frame | null>;
  }

  /**
   * Like `next()`, but resolves undefined instead of waiting further once
   * `stop()` is true: checked before each wait and after each `wakeWaiter()`.
   */
  async nextUnless(stop: () => boolean): Promise<Frame | null | undefined> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      const f = this.reader.read();
      if (f !== undefined) {
        if (this.paused && this.reader.bufferedBytes <= this.highWater / 2) {
          this.paused = false;
          this.flow?.resume();
        }
        return f;
      }
      if (stop()) return undefined;
      if (this.paused) {
        this.paused = false;
        this.flow?.resume();
      }
      await new Promise<void>((resolve) => { this.waiter = { resolve }; });
    }
  }
}

const never = (): boolean => false;
