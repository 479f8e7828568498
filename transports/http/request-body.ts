/**
 * Reading a request body under a cap, the part both HTTP engines share:
 * every chunk is copied once into one buffer (allocated at the announced
 * Content-Length, or grown by doubling when the length is not announced),
 * and reading stops being collected once the body passes the cap.
 */

/**
 * How much of an over-cap body an engine still reads and throws away before
 * it answers. Clients such as node:http, fetch and Python's requests send the
 * whole body before they read the answer; when the server closes while
 * unread bytes wait, the kernel resets the connection and those clients
 * report EPIPE/ECONNRESET instead of the 413. Draining (up to this much) lets
 * the 413 arrive; past it the engine answers and closes at once.
 */
export const OVERSIZE_DRAIN_BYTES = 64 * 1024 * 1024;

/** The first buffer for a body of unannounced length (grown by doubling, never past the cap). */
const INITIAL_CAPACITY = 16 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * Collects one request body. `add` copies each chunk (the engines' chunks are
 * only valid during their callback) and reports `false` once the body is
 * larger than the cap, after which the collector holds nothing.
 */
export class BodyCollector {
  private buffer: Uint8Array;
  private length = 0;
  private over = false;

  /**
   * @param cap the largest body accepted, in bytes
   * @param announced the Content-Length, when the request gave one (at most `cap`)
   */
  constructor(private readonly cap: number, announced: number | undefined) {
    const first = announced !== undefined && Number.isFinite(announced) ? announced : Math.min(cap, INITIAL_CAPACITY);
    this.buffer = first === 0 ? EMPTY : allocate(first);
  }

  /** Copies `chunk` in; `false` once the body has passed the cap (the chunk and all before it are dropped). */
  add(chunk: Uint8Array): boolean {
    if (this.over) return false;
    const end = this.length + chunk.byteLength;
    if (end > this.cap) {
      this.over = true;
      this.buffer = EMPTY;
      this.length = 0;
      return false;
    }
    if (end > this.buffer.byteLength) this.grow(end);
    this.buffer.set(chunk, this.length);
    this.length = end;
    return true;
  }

  /** The body read so far (the buffer itself when it is exactly full, else a view of it). */
  body(): Uint8Array {
    return this.length === this.buffer.byteLength ? this.buffer : this.buffer.subarray(0, this.length);
  }

  private grow(needed: number): void {
    let capacity = Math.max(this.buffer.byteLength, INITIAL_CAPACITY);
    while (capacity < needed) capacity *= 2;
    const next = allocate(Math.min(capacity, this.cap));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
}

/** Below this a body goes into Node's shared 8 KiB allocation pool (offsets 8-aligned) rather than a buffer of its own, which costs a malloc and GC bookkeeping per request. */
const POOLED_BELOW = 4096;

/** A buffer that is not zero-filled (every byte handed out is written first), as a plain Uint8Array: Buffer's `slice` is a view, which a handler expecting a copy should not meet. */
const allocate = (size: number): Uint8Array => {
  const b = size < POOLED_BELOW ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
};

/**
 * What a request announces about its body: `0` for none, the Content-Length,
 * or `undefined` for a length not known up front (chunked).
 */
export const announcedLength = (headers: ReadonlyMap<string, string>): number | undefined => {
  if (headers.has('transfer-encoding')) return undefined;
  const raw = headers.get('content-length');
  if (raw === undefined) return 0;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};
