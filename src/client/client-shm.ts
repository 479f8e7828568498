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
 * Read a pointer response back from the client's segment and free its
 * region (the batch is a copy). A pointer on a connection without a
 * segment, or one that does not resolve, is a ProtocolError.
 */
export const resolvePointer = (segment: ClientSegment | undefined, pointer: DecodedBatch): DecodedBatch => {
  if (segment === undefined) throw RpcClientError.local('ProtocolError', 'the server answered with a shared-memory pointer, but this connection has no segment');
  try {
    const { batch, release } = segment.channel.resolve(pointer);
    release();
    return batch;
  } catch (e) {
    throw RpcClientError.local('ProtocolError', `cannot resolve the server's shared-memory pointer: ${(e as Error).message}`);
  }
};
