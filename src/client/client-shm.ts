/**
 * A client's own shared-memory segment, as the byte-stream client uses it:
 * every request names it (`vgi_rpc.shm_segment_name` / `_size`, as the
 * reference's client does, without negotiating first), large request and
 * exchange input batches go into it as pointers, pointer responses are read
 * back out of it and their regions freed once read (the consumer frees).
 * Creating, mapping and unlinking the segment is the transport's business.
 */
import { Keys } from '../wire/metadata-keys.js';
import type { ResolvedPointer, ShmChannel } from '../wire/shm-pointer.js';
import { SHM_HEADER_SIZE } from '../wire/shm-segment.js';
import type { DecodedBatch } from '../wire/stream-reader.js';
import { RpcClientError } from './client-error.js';

/** A segment the client owns. */
export interface ClientSegment {
  /** Reads and writes the segment (header, allocator, pointers). */
  readonly channel: ShmChannel;
  /**
   * Decode producer and exchange output batches over the segment instead of
   * copying them out. Such a batch is valid until the stream moves on: the
   * next pull of a producer iterator, the next `tick()` or `exchange()`,
   * or the stream's end; after that its BatchView throws ReleasedBatchError
   * and raw columns taken from it may show other data. Unary results and
   * stream headers are always copied.
   */
  readonly zeroCopy?: boolean;
  /** Unmap and unlink the segment. Idempotent. */
  close(): void;
}

const segmentKeys = new WeakMap<ClientSegment, ReadonlyMap<string, string>>();

/** The metadata naming `segment` on every request (one Map per segment, so encoded headers are reused). */
export const segmentMetadata = (segment: ClientSegment): ReadonlyMap<string, string> => {
  let md = segmentKeys.get(segment);
  if (md === undefined) {
    const ch = segment.channel;
    md = new Map([[Keys.shmSegmentName, ch.name], [Keys.shmSegmentSize, String(ch.segment.bytes.byteLength)]]);
    segmentKeys.set(segment, md);
  }
  return md;
};

/**
 * How long a batch resolved without a copy may be used: until `release`.
 * Its region stays allocated (the server cannot reuse it) while the lease
 * is held; once released, the region is freed at the reader's next
 * `settle` and may then be overwritten.
 */
export class RegionLease {
  private done = false;

  /** True once the consumer gave the batch back. */
  get released(): boolean {
    return this.done;
  }

  /** Give the batch back (idempotent); its region is freed at the next settle. */
  release(): void {
    this.done = true;
  }
}

/** A region read and not yet freed. */
interface ReadRegion {
  readonly free: () => void;
  readonly length: number;
  /** Undefined for a copied batch (nothing points into the region: free it at the next settle). */
  readonly lease: RegionLease | undefined;
}

/** Bytes assumed beyond a region's length when estimating how many more fit (allocation slack, alignment). */
const REGION_SLACK = 8192;

/** Most producer ticks sent in one group, however many regions the segment could hold. */
const MAX_TICK_GROUP = 64;

/**
 * A connection's use of its segment for responses. Pointers are read back
 * at once (copied, or, for a leased batch on a zero-copy segment, decoded
 * over the region), but regions are freed only by `settle`, which the
 * connection calls when every message it sent has been answered. Both
 * sides write the segment's header without locks, and the server writes it
 * only while it handles a message, so frees made then never race its
 * allocations; this is what lets a producer keep several ticks in flight.
 * The reference's client frees when its caller releases a batch, so a
 * later free is within its contract.
 */
export class SegmentReader {
  private regions: ReadRegion[] = [];
  private largest = 0;

  /** Read pointers out of `segment`. */
  constructor(readonly segment: ClientSegment) {}

  /** True when leased batches are decoded over the segment itself (the segment's `zeroCopy` option). */
  get zeroCopy(): boolean {
    return this.segment.zeroCopy === true;
  }

  /**
   * Read a pointer response back from the segment; its region is freed by
   * the first `settle` after it is released. With `lease` on a zero-copy
   * segment the batch is a view over the region and comes with the lease
   * that keeps it allocated; otherwise it is a copy, released at once.
   * A pointer that does not resolve is a ProtocolError.
   */
  resolve(pointer: DecodedBatch, lease = false): { readonly batch: DecodedBatch; readonly lease?: RegionLease } {
    const zeroCopy = lease && this.zeroCopy;
    let resolved: ResolvedPointer;
    try {
      resolved = this.segment.channel.resolve(pointer, { copy: !zeroCopy });
    } catch (e) {
      throw RpcClientError.local('ProtocolError', `cannot resolve the server's shared-memory pointer: ${(e as Error).message}`);
    }
    const held = zeroCopy ? new RegionLease() : undefined;
    this.regions.push({ free: resolved.release, length: resolved.length, lease: held });
    if (resolved.length > this.largest) this.largest = resolved.length;
    return held === undefined ? { batch: resolved.batch } : { batch: resolved.batch, lease: held };
  }

  /** Regions read and not yet freed. */
  get held(): number {
    return this.regions.length;
  }

  /** Bytes of the regions read and not yet freed. */
  get heldBytes(): number {
    let n = 0;
    for (const r of this.regions) n += r.length;
    return n;
  }

  /** Free every region read so far whose batch is released. Only when the server has answered every message sent (it is not touching the header). */
  settle(): void {
    if (this.regions.length === 0) return;
    const keep: ReadRegion[] = [];
    for (const r of this.regions) {
      if (r.lease === undefined || r.lease.released) r.free();
      else keep.push(r);
    }
    this.regions = keep;
  }

  /** Release every lease (the stream that handed the batches out ended); the next settle frees their regions. */
  releaseAll(): void {
    for (const r of this.regions) r.lease?.release();
  }

  /**
   * How many producer ticks to send in the next group: as many answers as
   * the segment's free room holds at the largest region read so far (the
   * server falls back to inline batches when it runs out, which is correct
   * but slower); `initial` before any region was read.
   */
  tickGroup(initial: number): number {
    if (this.largest === 0) return initial;
    const room = this.segment.channel.segment.bytes.byteLength - SHM_HEADER_SIZE - this.heldBytes;
    return Math.max(1, Math.min(MAX_TICK_GROUP, Math.floor(room / (this.largest + REGION_SLACK))));
  }
}

/** A pointer response on a connection without a segment: nothing can resolve it. */
export const noSegment = (): RpcClientError =>
  RpcClientError.local('ProtocolError', 'the server answered with a shared-memory pointer, but this connection has no segment');
