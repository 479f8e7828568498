/**
 * A connection's view of its client's shared-memory segment (the
 * reference's `_ConnectionShm`): the client names the segment in request
 * metadata (`vgi_rpc.shm_segment_name` / `_size`); the server attaches on
 * first sight, keeps the attachment for the connection's life, attaches
 * again when the name changes, and detaches when the connection ends. A
 * later request carrying only an offset resolves against the cached one.
 * The mapping itself is the transport's business (SegmentAttacher); only
 * byte-stream connections ever get one, never HTTP.
 */
import { Keys } from '../wire/metadata-keys.js';
import type { BatchMetadata } from '../wire/message-codec.js';
import { ShmChannel } from '../wire/shm-pointer.js';
import type { SegmentBytes } from '../wire/shm-segment.js';

/** A segment attached for a server: its bytes, and how to unmap them. */
export interface AttachedSegment extends SegmentBytes {
  /** Unmap (never unlink: the client owns the segment). Idempotent. */
  close(): void;
}

/** How a server attaches its clients' segments (the transport provides it; see transports/shm). */
export interface SegmentAttacher {
  /** Map the existing segment `name` (with or without a leading '/'), at its kernel size. Throws a typed error when it cannot. */
  attach(name: string): AttachedSegment;
  /** Data batches with bodies of at least this many bytes are answered through the segment. */
  readonly minBatchBytes: number;
  /** Told when an allocation of this server brings a segment's table to 80% of capacity or more (the reference logs a warning each time). */
  readonly onNearCapacity?: (count: number, segment: string) => void;
}

/** The segment a call may use: resolve its input pointers through `channel`; write its answers there only when `answer`. */
export interface CallShm {
  readonly channel: ShmChannel;
  /** The request named the segment or was itself a pointer (only then do answers go through it). */
  readonly answer: boolean;
}

/** True when a request's metadata names a segment or carries a pointer (the reference's `request_used_shm`). */
export const requestUsesShm = (md: BatchMetadata | undefined): boolean =>
  md !== undefined && (md.has(Keys.shmOffset) || md.has(Keys.shmSegmentName));

/** The segment a connection's client named, attached on demand. */
export class ConnectionShm {
  private attached: AttachedSegment | undefined;
  private attachedName: string | undefined;
  private current: ShmChannel | undefined;

  /** Serve one connection's segments through `attacher`. */
  constructor(private readonly attacher: SegmentAttacher) {}

  /** The channel over the attached segment, if any. */
  get channel(): ShmChannel | undefined {
    return this.current;
  }

  /**
   * Attach the segment `md` names when it is the first or a new one. As in
   * the reference, a name without a size, or a size that is not an integer,
   * is ignored. Attach and header failures throw (typed); the previous
   * attachment is then dropped too, so nothing resolves against a segment
   * the client no longer names.
   */
  refresh(md: BatchMetadata | undefined): void {
    const name = md?.get(Keys.shmSegmentName);
    if (name === undefined || name === this.attachedName) return;
    const size = md!.get(Keys.shmSegmentSize);
    if (size === undefined || !/^\s*[+-]?\d+\s*$/.test(size)) return;
    this.close();
    const seg = this.attacher.attach(name);
    try {
      const warn = this.attacher.onNearCapacity;
      this.current = new ShmChannel(seg, this.attacher.minBatchBytes, warn === undefined ? {} : { onNearCapacity: (n) => warn(n, seg.name) });
    } catch (e) {
      seg.close();
      throw e;
    }
    this.attached = seg;
    this.attachedName = name;
  }

  /** Detach the cached segment, if any. */
  close(): void {
    this.attached?.close();
    this.attached = undefined;
    this.attachedName = undefined;
    this.current = undefined;
  }
}
