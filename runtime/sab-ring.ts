/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer that
 * carries length-prefixed frames (u32 little-endian length, then the bytes)
 * between two threads. A frame larger than the ring streams through it in
 * pieces; a full ring makes the writer await space (never drop, never grow);
 * an empty ring makes the reader await data. Waiting is Atomics.waitAsync
 * (never the blocking Atomics.wait: the main thread must not block), and a
 * side notifies only when the other side said it is about to sleep, so a
 * busy consumer costs its producer no notify per frame.
 *
 * Ends are opened in each thread on the same buffer (`RingWriter.attach`,
 * `RingReader.attach`). Each side can close; the other side's pending and
 * later operations then end (end of stream for a reader once it has read
 * everything, a RingError for a writer). A thread that dies cannot say so:
 * whoever owns its Worker object marks its ends crashed on the Worker's
 * 'exit' event (`markCrashed`, see watchThread in sab-channel.ts), which wakes the other
 * side with RingError 'peer-crashed'. That event is exact and free while
 * nothing dies, where a heartbeat would cost a timer on both sides and
 * report a peer busy in a long synchronous call as dead.
 *
 * Why one producer only: a frame is streamed through the ring in pieces
 * when it is larger than the free space, so several producers would have to
 * hold a lock for a whole frame; the ring would become a mutex-guarded SPSC
 * ring in which one producer dying mid-frame poisons every producer's
 * frames. N producers are served better by N rings read by one consumer.
 */

/** Why a ring operation could not complete. */
export type RingErrorReason =
  /** This end was closed here. */
  | 'closed'
  /** The reader closed: the writer's bytes have nowhere to go. */
  | 'peer-closed'
  /** The writer aborted in the middle of a frame: the reader has a truncated frame. */
  | 'peer-aborted'
  /** The other side's thread died (marked by its Worker's owner); `exitCode` says how. */
  | 'peer-crashed';

/** A ring operation failed because an end closed or a thread died. */
export class RingError extends Error {
  override readonly name = 'RingError';
  constructor(
    readonly reason: RingErrorReason,
    message: string,
    /** The dead thread's exit code (reason 'peer-crashed'). */
    readonly exitCode?: number,
  ) {
    super(message);
  }
}

/**
 * Control words (Int32 indices). The hot words each side writes sit on
 * cache lines of their own (16 words = 64 bytes apart), so the producer and
 * the consumer do not false-share.
 */
const USED = 0; // bytes written and not yet read: the only word both sides change
const HEAD = 16; // the writer's position (stored so an end can be re-attached in another thread)
const WRITER_WAITING = 17; // while the writer sleeps for space: the free bytes it waits for (0: awake)
const SPACE_SIG = 18; // bumped to wake the writer
const WRITER_STATE = 19;
const TAIL = 32; // the reader's position
const READER_WAITING = 33; // while the reader sleeps for data: the bytes it waits for (0: awake)
const DATA_SIG = 34; // bumped to wake the reader
const READER_STATE = 35;
const EXIT_CODE = 48;
const CAPACITY = 49;
const MAGIC_WORD = 50;
const MAGIC = 0x52494e47; // 'RING'

/** Bytes of control words before the data region. */
export const RING_HEADER_BYTES = 256;

/** An end's state word. */
const OPEN = 0;
const CLOSED = 1;
const ABORTED = 2;
const CRASHED = 3;

/** Frame length prefix size. */
const PREFIX = 4;

/** Frames are at most this long (the u32 prefix). */
export const MAX_FRAME_BYTES = 0xffff_ffff;

type WaitAsync = (cells: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out' };
/** `Atomics.waitAsync` (V8 has it since Node 16; TypeScript's ES2023 library lacks it). */
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * A pending Atomics.waitAsync does not keep a Node thread alive (a worker
 * whose only work is a wait would exit). So an open end keeps its thread
 * alive, as an open socket does: one interval timer per thread, ref'd while
 * any end of this thread is open and its ring has not failed. (Toggling the
 * ref around every sleep instead costs a third of the round trips/s.)
 */
let holders = 0;
let keepAlive: NodeJS.Timeout | undefined;
const holdThread = (): void => {
  keepAlive ??= setInterval(() => {}, 0x3fff_ffff);
  if (holders++ === 0) keepAlive.ref();
};
const releaseThread = (): void => {
  if (--holders === 0) keepAlive!.unref();
};

/** Sleep until `cells[index]` is no longer `value` (or it is notified). */
const sleep = (cells: Int32Array, index: number, value: number): Promise<unknown> | void => {
  const w = waitAsync(cells, index, value);
  if (w.async) return w.value as Promise<unknown>;
};

/** Frames at least this long are allocated without zero-filling (every byte is overwritten before the frame is handed out). */
const UNZEROED_FRAME_BYTES = 64 * 1024;

/**
 * A fresh buffer for a frame of `length` bytes, a plain Uint8Array that owns
 * its ArrayBuffer (so it can be transferred, and its slice copies). A large
 * one skips the zero-fill: a relay hands out a frame per response, and
 * clearing a megabyte that is about to be overwritten costs as much as
 * copying it.
 */
const frameBuffer = (length: number): Uint8Array =>
  length < UNZEROED_FRAME_BYTES ? new Uint8Array(length) : new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);

/** Allocate the shared memory of a ring with `capacity` data bytes (any size >= 1; a power of two is no faster). */
export const createRing = (capacity: number): SharedArrayBuffer => {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x4000_0000) throw new RangeError(`a ring's capacity is 1 byte to 1 GiB (got ${capacity})`);
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
  const cells = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  cells[CAPACITY] = capacity;
  cells[MAGIC_WORD] = MAGIC;
  return sab;
};

/** The control words and data region of a ring buffer, checked. */
const viewsOf = (sab: SharedArrayBuffer): { cells: Int32Array; data: Uint8Array; capacity: number } => {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength <= RING_HEADER_BYTES) throw new TypeError('not a ring: expected the SharedArrayBuffer createRing made');
  const cells = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  const capacity = Atomics.load(cells, CAPACITY);
  if (Atomics.load(cells, MAGIC_WORD) !== MAGIC || capacity !== sab.byteLength - RING_HEADER_BYTES) throw new TypeError('not a ring: its header does not match its size');
  return { cells, data: new Uint8Array(sab, RING_HEADER_BYTES, capacity), capacity };
};

/** Wake every waiter of both sides (a state changed). */
const wakeBoth = (cells: Int32Array): void => {
  Atomics.add(cells, DATA_SIG, 1);
  Atomics.notify(cells, DATA_SIG);
  Atomics.add(cells, SPACE_SIG, 1);
  Atomics.notify(cells, SPACE_SIG);
};

/**
 * Mark one end of the ring in `sab` crashed (its thread died), from any
 * thread: the other side's pending and later operations fail with
 * RingError 'peer-crashed' (a reader first gets the frames that were
 * written whole). An end that had closed cleanly stays closed.
 */
export const markCrashed = (sab: SharedArrayBuffer, end: 'writer' | 'reader', exitCode: number): void => {
  const { cells } = viewsOf(sab);
  const word = end === 'writer' ? WRITER_STATE : READER_STATE;
  // Only an open (or, for the writer, aborted) end becomes crashed; the first report's exit code stays.
  const was = Atomics.load(cells, word);
  if (was !== OPEN && !(was === ABORTED && end === 'writer')) return;
  Atomics.store(cells, EXIT_CODE, exitCode | 0);
  if (Atomics.compareExchange(cells, word, was, CRASHED) !== was) return;
  wakeBoth(cells);
};

/** Options of a ring end. */
export interface RingEndOptions {
  /**
   * Polls of the shared counter before sleeping in waitAsync (default 0).
   * Bounded: a spin that finds nothing falls back to waiting.
   */
  readonly spin?: number;
  /**
   * Whether the open end keeps its thread alive (default true). An end
   * whose owner keeps the thread alive by other means, or that must not
   * hold a stopped server's process (the HTTP front end's links), says false.
   */
  readonly holdThread?: boolean;
}

/** The bytes a frame is made of: the chunks in order (their total is the frame's length). */
type Chunks = Uint8Array | readonly Uint8Array[];

const totalOf = (chunks: readonly Uint8Array[]): number => {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
};

/**
 * What both ends of a ring hold: the ring's views, the spin setting, the
 * length-prefix scratch, and their hold on the thread (an open end keeps
 * its thread alive, as a socket does, until it is done).
 */
abstract class RingEnd {
  protected readonly cells: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly capacity: number;
  protected readonly spin: number;
  protected readonly prefix = new Uint8Array(PREFIX);
  protected readonly prefixView = new DataView(this.prefix.buffer);
  private holding: boolean;

  protected constructor(sab: SharedArrayBuffer, options: RingEndOptions) {
    ({ cells: this.cells, data: this.data, capacity: this.capacity } = viewsOf(sab));
    this.spin = options.spin ?? 0;
    this.holding = options.holdThread !== false;
    if (this.holding) holdThread();
  }

  /** This end is done (closed, at end of stream, or its ring failed): it no longer keeps the thread alive. */
  protected letGo(): void {
    if (!this.holding) return;
    this.holding = false;
    releaseThread();
  }

  /** The ring's data capacity in bytes. */
  get size(): number {
    return this.capacity;
  }
}

/** The producing end of a ring. Writes are applied in call order. */
export class RingWriter extends RingEnd {
  private head: number;
  /** The slow writes queued behind a full ring (undefined when none is pending). */
  private pending: Promise<void> | undefined;
  private queued = 0;
  /** A writer waiting for space sleeps until this much is free (or what its frame still needs, if less). */
  private readonly wakeAt: number;

  private constructor(sab: SharedArrayBuffer, options: RingEndOptions) {
    super(sab, options);
    this.head = Atomics.load(this.cells, HEAD);
    this.wakeAt = Math.max(1, Math.floor(this.capacity / 2));
  }

  /** Open the writing end of the ring in `sab` (one writer at a time). */
  static attach(sab: SharedArrayBuffer, options: RingEndOptions = {}): RingWriter {
    return new RingWriter(sab, options);
  }

  /** Bytes in the ring not yet read. */
  get buffered(): number {
    return Atomics.load(this.cells, USED);
  }

  /** Throws the RingError that stops writing now, if any. */
  private check(): void {
    const mine = Atomics.load(this.cells, WRITER_STATE);
    if (mine !== OPEN) {
      this.letGo();
      throw new RingError('closed', 'this ring writer is closed');
    }
    const theirs = Atomics.load(this.cells, READER_STATE);
    if (theirs !== OPEN) this.letGo();
    if (theirs === CLOSED) throw new RingError('peer-closed', 'the reader closed the ring');
    if (theirs === CRASHED) {
      const code = Atomics.load(this.cells, EXIT_CODE);
      throw new RingError('peer-crashed', `the reader's thread died (exit code ${code})`, code);
    }
  }

  /**
   * Write one frame made of `chunks` (concatenated). Returns undefined when
   * the frame was written at once, or a promise that settles once it is
   * wholly in the ring (rejecting with RingError if an end closes or a
   * thread dies first). Callers may write again without awaiting: frames
   * keep their order.
   */
  write(chunks: Chunks): void | Promise<void> {
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    const length = totalOf(list);
    if (length > MAX_FRAME_BYTES) throw new RangeError(`a frame is at most ${MAX_FRAME_BYTES} bytes (got ${length})`);
    if (this.pending === undefined) {
      this.check();
      const free = this.capacity - Atomics.load(this.cells, USED);
      if (free >= PREFIX + length) {
        this.putPrefix(length);
        for (const c of list) this.put(c, 0, c.byteLength);
        this.publish(PREFIX + length);
        return;
      }
    }
    // Behind a full ring: copy the chunk list (not the bytes; the caller keeps them until the promise settles).
    const copy = [...list];
    const run = (): Promise<void> => this.writeSlow(copy, length);
    const p = this.pending === undefined ? run() : this.pending.then(run);
    this.queued++;
    const tracked = p.finally(() => {
      if (--this.queued === 0) this.pending = undefined;
    });
    // A later write waits for this one whatever its outcome; a failed ring fails it in its own check.
    this.pending = tracked.catch(() => undefined);
    return tracked;
  }

  private putPrefix(length: number): void {
    const h = this.head;
    if (h + PREFIX <= this.capacity) {
      // The common case, byte by byte: cheaper than a copy for four bytes.
      const d = this.data;
      d[h] = length & 0xff;
      d[h + 1] = (length >>> 8) & 0xff;
      d[h + 2] = (length >>> 16) & 0xff;
      d[h + 3] = length >>> 24;
      this.head = (h + PREFIX) % this.capacity;
      return;
    }
    this.prefixView.setUint32(0, length, true);
    this.put(this.prefix, 0, PREFIX);
  }

  /** Copy `src[from, from + n)` in at the head (the caller checked the space). */
  private put(src: Uint8Array, from: number, n: number): void {
    const first = Math.min(n, this.capacity - this.head);
    this.data.set(first === src.byteLength && from === 0 ? src : src.subarray(from, from + first), this.head);
    if (first < n) this.data.set(src.subarray(from + first, from + n), 0);
    this.head = (this.head + n) % this.capacity;
  }

  /** Make `n` bytes written at the old head visible to the reader, waking it if it sleeps. */
  private publish(n: number): void {
    Atomics.store(this.cells, HEAD, this.head);
    const used = Atomics.add(this.cells, USED, n) + n;
    // Only a reader that announced its sleep is woken, and only once what it waits for is there:
    // one notify per sleep, not per frame (nor per piece of a frame it needs whole).
    const want = Atomics.load(this.cells, READER_WAITING);
    if (want !== 0 && used >= want && Atomics.exchange(this.cells, READER_WAITING, 0) !== 0) {
      Atomics.add(this.cells, DATA_SIG, 1);
      Atomics.notify(this.cells, DATA_SIG);
    }
  }

  /** Stream a frame through the ring piece by piece, waiting for space between pieces. */
  private async writeSlow(list: readonly Uint8Array[], length: number): Promise<void> {
    this.check();
    this.prefixView.setUint32(0, length, true);
    // Empty chunks are dropped: with a full ring, a loop over them would wait for zero bytes forever.
    const parts = [this.prefix.slice(), ...list.filter((c) => c.byteLength > 0)];
    let part = 0;
    let offset = 0;
    let remaining = PREFIX + length;
    while (part < parts.length) {
      let free = this.capacity - Atomics.load(this.cells, USED);
      if (free === 0) {
        await this.awaitSpace(Math.min(this.wakeAt, remaining));
        this.check();
        continue;
      }
      let wrote = 0;
      while (free > 0 && part < parts.length) {
        const src = parts[part]!;
        const n = Math.min(free, src.byteLength - offset);
        this.put(src, offset, n);
        offset += n;
        free -= n;
        wrote += n;
        if (offset === src.byteLength) {
          part++;
          offset = 0;
        }
      }
      remaining -= wrote;
      this.publish(wrote);
    }
  }

  /**
   * Resolves once the reader has freed `want` bytes (or an end's state
   * changed). Waking for a large share of the ring rather than for the
   * first freed byte lets the writer refill in bursts: a ring kept full
   * would otherwise cost one wake-up per frame the reader takes.
   */
  private awaitSpace(want: number): Promise<unknown> | void {
    for (let i = 0; i < this.spin; i++) if (this.capacity - Atomics.load(this.cells, USED) >= want) return;
    const sig = Atomics.load(this.cells, SPACE_SIG);
    Atomics.store(this.cells, WRITER_WAITING, want);
    if (this.capacity - Atomics.load(this.cells, USED) >= want || Atomics.load(this.cells, READER_STATE) !== OPEN || Atomics.load(this.cells, WRITER_STATE) !== OPEN) {
      Atomics.store(this.cells, WRITER_WAITING, 0);
      return;
    }
    return sleep(this.cells, SPACE_SIG, sig);
  }

  /** Resolves once every write made so far is wholly in the ring (rejects like the failed write). */
  async flushed(): Promise<void> {
    while (this.pending !== undefined) await this.pending;
    this.check();
  }

  /**
   * Close cleanly: once the writes made so far are in the ring, the reader
   * reads them and then gets end of stream. Resolves when closed; a write
   * that could not complete rejects it.
   */
  async close(): Promise<void> {
    let failure: unknown;
    try {
      while (this.pending !== undefined) await this.pending;
    } catch (e) {
      failure = e;
    }
    if (Atomics.compareExchange(this.cells, WRITER_STATE, OPEN, CLOSED) === OPEN) wakeBoth(this.cells);
    this.letGo();
    if (failure !== undefined) throw failure;
  }

  /**
   * Stop now, possibly in the middle of a frame: pending writes reject, and
   * the reader gets RingError 'peer-aborted' after the whole frames.
   */
  abort(): void {
    if (Atomics.compareExchange(this.cells, WRITER_STATE, OPEN, ABORTED) === OPEN) wakeBoth(this.cells);
    this.letGo();
  }
}

/** The consuming end of a ring. */
export class RingReader extends RingEnd {
  private tail: number;
  /** How much of the length prefix is read (it may straddle the wrap or arrive in pieces). */
  private prefixFilled = 0;
  /** The frame being assembled, when its prefix has been read. */
  private frame: Uint8Array | undefined;
  private frameFilled = 0;
  /** Stream mode (readInto): bytes of the current frame not read yet. */
  private streamLeft = 0;
  /** The most a sleeping reader waits for: half the ring, so that a writer waiting for space always wakes it. */
  private readonly wakeLimit = Math.max(1, Math.floor(this.capacity / 2));

  private constructor(sab: SharedArrayBuffer, options: RingEndOptions) {
    super(sab, options);
    this.tail = Atomics.load(this.cells, TAIL);
  }

  /** Open the reading end of the ring in `sab` (one reader at a time). */
  static attach(sab: SharedArrayBuffer, options: RingEndOptions = {}): RingReader {
    return new RingReader(sab, options);
  }

  /** Bytes in the ring not read yet (length prefixes included). */
  get available(): number {
    return Atomics.load(this.cells, USED);
  }


  /** Copy `n` bytes out at the tail into `dst[at, at + n)`. */
  private take(dst: Uint8Array, at: number, n: number): void {
    const first = Math.min(n, this.capacity - this.tail);
    dst.set(this.data.subarray(this.tail, this.tail + first), at);
    if (first < n) dst.set(this.data.subarray(0, n - first), at + first);
    this.tail = (this.tail + n) % this.capacity;
  }

  /** Hand `n` read bytes back to the writer, waking it if it sleeps for space. */
  private release(n: number): void {
    Atomics.store(this.cells, TAIL, this.tail);
    const used = Atomics.sub(this.cells, USED, n) - n;
    const want = Atomics.load(this.cells, WRITER_WAITING);
    if (want !== 0 && this.capacity - used >= want && Atomics.exchange(this.cells, WRITER_WAITING, 0) !== 0) {
      Atomics.add(this.cells, SPACE_SIG, 1);
      Atomics.notify(this.cells, SPACE_SIG);
    }
  }

  /**
   * The next whole frame if the ring holds the rest of it, without waiting:
   * a fresh Uint8Array (the reader owns it); null at end of stream (the
   * writer closed and every frame was read, or this end was closed);
   * undefined when the frame is not complete yet. Throws RingError when the
   * writer aborted or its thread died and no whole frame is left.
   */
  tryRead(): Uint8Array | null | undefined {
    const mine = Atomics.load(this.cells, READER_STATE);
    if (mine !== OPEN) {
      this.letGo();
      return null;
    }
    // The writer's state is read before the byte count: a writer publishes its last bytes before it closes.
    const theirs = Atomics.load(this.cells, WRITER_STATE);
    let avail = Atomics.load(this.cells, USED);
    let consumed = 0;
    let out: Uint8Array | undefined;
    while (avail > 0) {
      if (this.frame === undefined && this.prefixFilled === 0 && avail >= PREFIX && this.tail + PREFIX <= this.capacity) {
        // The common case: the whole prefix lies before the wrap.
        const d = this.data;
        const t = this.tail;
        const length = (d[t]! | (d[t + 1]! << 8) | (d[t + 2]! << 16)) + d[t + 3]! * 0x100_0000;
        this.tail = (t + PREFIX) % this.capacity;
        avail -= PREFIX;
        consumed += PREFIX;
        this.frame = frameBuffer(length);
        this.frameFilled = 0;
      } else if (this.frame === undefined) {
        const n = Math.min(PREFIX - this.prefixFilled, avail);
        this.take(this.prefix, this.prefixFilled, n);
        this.prefixFilled += n;
        avail -= n;
        consumed += n;
        if (this.prefixFilled < PREFIX) break;
        const length = this.prefixView.getUint32(0, true);
        this.frame = frameBuffer(length);
        this.frameFilled = 0;
      }
      const n = Math.min(this.frame.byteLength - this.frameFilled, avail);
      this.take(this.frame, this.frameFilled, n);
      this.frameFilled += n;
      avail -= n;
      consumed += n;
      if (this.frameFilled === this.frame.byteLength) {
        out = this.frame;
        this.frame = undefined;
        this.prefixFilled = 0;
        break;
      }
    }
    if (consumed > 0) this.release(consumed);
    if (out !== undefined) return out;
    if (theirs === OPEN || avail > 0) return undefined;
    return this.stopped(theirs, this.frame !== undefined || this.prefixFilled > 0);
  }

  /**
   * The writer has stopped (state `theirs`) and everything it wrote has
   * been read: null for a clean end, else the RingError saying why.
   */
  private stopped(theirs: number, midFrame: boolean): null {
    this.letGo();
    if (theirs === CLOSED && !midFrame) return null;
    if (theirs === CRASHED) {
      const code = Atomics.load(this.cells, EXIT_CODE);
      throw new RingError('peer-crashed', `the writer's thread died${midFrame ? ' in the middle of a frame' : ''} (exit code ${code})`, code);
    }
    throw new RingError('peer-aborted', 'the writer stopped in the middle of a frame');
  }

  /**
   * Stream mode, for a reader that wants the bytes and not the frames (a
   * relay's byte stream): copy what the ring holds of the frames' contents,
   * across frame boundaries, straight into `dst` (up to its length), with
   * no buffer of the reader's own in between. Returns the number of bytes
   * copied, 0 when nothing is there yet (await `readable()`), null at end
   * of stream; throws RingError like tryRead. A reader uses one mode only:
   * tryRead/read or readInto.
   */
  readInto(dst: Uint8Array): number | null {
    if (Atomics.load(this.cells, READER_STATE) !== OPEN) {
      this.letGo();
      return null;
    }
    const theirs = Atomics.load(this.cells, WRITER_STATE);
    let avail = Atomics.load(this.cells, USED);
    let consumed = 0;
    let copied = 0;
    while (avail > 0 && copied < dst.byteLength) {
      if (this.streamLeft === 0) {
        // Between frames: the next length prefix (it may straddle the wrap or arrive in pieces).
        const n = Math.min(PREFIX - this.prefixFilled, avail);
        this.take(this.prefix, this.prefixFilled, n);
        this.prefixFilled += n;
        avail -= n;
        consumed += n;
        if (this.prefixFilled < PREFIX) break;
        this.prefixFilled = 0;
        this.streamLeft = this.prefixView.getUint32(0, true);
        continue;
      }
      const n = Math.min(this.streamLeft, avail, dst.byteLength - copied);
      this.take(dst, copied, n);
      this.streamLeft -= n;
      copied += n;
      avail -= n;
      consumed += n;
    }
    if (consumed > 0) this.release(consumed);
    if (copied > 0) return copied;
    if (theirs === OPEN || avail > 0) return 0;
    return this.stopped(theirs, this.streamLeft > 0 || this.prefixFilled > 0);
  }

  /**
   * Resolves once there may be something new to read: `want` bytes are in
   * the ring (by default 1, or the rest of a frame tryRead has begun,
   * at most half the ring), or an end's state changed. Announces the sleep
   * so that the writer notifies. Waiting for what the reader needs, rather
   * than for the first byte, saves a wake-up per piece when a frame or a
   * body arrives in several writes, as the writer's wait for space does.
   */
  readable(want?: number): Promise<unknown> | void {
    const need = Math.max(1, Math.min(want ?? (this.frame === undefined ? 1 : this.frame.byteLength - this.frameFilled), this.wakeLimit));
    for (let i = 0; i < this.spin; i++) if (Atomics.load(this.cells, USED) >= need) return;
    const sig = Atomics.load(this.cells, DATA_SIG);
    Atomics.store(this.cells, READER_WAITING, need);
    if (Atomics.load(this.cells, USED) >= need || Atomics.load(this.cells, WRITER_STATE) !== OPEN || Atomics.load(this.cells, READER_STATE) !== OPEN) {
      Atomics.store(this.cells, READER_WAITING, 0);
      return;
    }
    return sleep(this.cells, DATA_SIG, sig);
  }

  /** The next frame (see tryRead), waiting for it; null at end of stream. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const f = this.tryRead();
      if (f !== undefined) return f;
      await this.readable();
    }
  }

  /** Stop reading: the writer's pending and later writes fail with RingError 'peer-closed'; reads return null. */
  close(): void {
    if (Atomics.compareExchange(this.cells, READER_STATE, OPEN, CLOSED) === OPEN) wakeBoth(this.cells);
    this.letGo();
  }
}
