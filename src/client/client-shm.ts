/**
 * A client's own shared-memory segment, as the byte-stream client uses it:
 * every request names it (`vgi_rpc.shm_segment_name` / `_size`, as the
 * reference's client does, without negotiating first), large request and
 * exchange input batches go into it as pointers, pointer responses are read
 * back out of it and their regions freed at once (the consumer frees).
 * Creating, mapping and unlinking the segment is the transport's business.
 */
import { Keys } from '../wire/metadata-keys.js';
import type { ShmChannel } from '../wire/shm-pointer.js';
import type { DecodedBatch } from '../wire/stream-reader.js';
import { RpcClientError } from './client-error.js';

/** A segment the client owns. */
export interface ClientSegment {
  /** Reads and writes the segment (header, allocator, pointers). */
  readonly channel: ShmChannel;
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
 * A connection's use of its segment for responses: pointers are read back
 * (a copy) at once, but their regions are freed only by `settle`, which the
 * connection calls when every message it sent has been answered. Both
 * sides write the segment's header without locks, and the server writes it
 * only while it handles a message, so frees made then never race its
 * allocations; this is what lets a producer keep several ticks in flight.
 * The reference's client frees when its caller releases a batch, so a
 * later free is within its contract.
 */
export class SegmentReader {
  private pending: (() => void)[] = [];

  /** Read pointers out of `segment`. */
  constructor(readonly segment: ClientSegment) {}

  /**
   * Read a pointer response back from the segment; its region is freed by
   * the next `settle`. A pointer that does not resolve is a ProtocolError.
   */
  resolve(pointer: DecodedBatch): DecodedBatch {
    try {
      const { batch, release } = this.segment.channel.resolve(pointer);
      this.pending.push(release);
      return batch;
    } catch (e) {
      throw RpcClientError.local('ProtocolError', `cannot resolve the server's shared-memory pointer: ${(e as Error).message}`);
    }
  }

  /** Regions read and not yet freed. */
  get held(): number {
    return this.pending.length;
  }

  /** Free every region read so far. Only when the server has answered every message sent (it is not touching the header). */
  settle(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    for (const release of pending) release();
  }
}

/** A pointer response on a connection without a segment: nothing can resolve it. */
export const noSegment = (): RpcClientError =>
  RpcClientError.local('ProtocolError', 'the server answered with a shared-memory pointer, but this connection has no segment');
