/**
 * Cross-process shared-memory segments for the byte-stream transports: the
 * server side attaches a client's segment (a SegmentAttacher for the
 * dispatcher), the client side creates, owns and unlinks one (a
 * ClientSegment for RpcConnection). Both sit on the mapping API of
 * `mapping.ts`; this file is the only one that imports it.
 */
import type { ClientSegment } from '../../src/client/client-shm.js';
import type { AttachedSegment, SegmentAttacher } from '../../src/protocol/connection-shm.js';
import { ShmChannel, parseMinBatchBytes } from '../../src/wire/shm-pointer.js';
import { SHM_HEADER_SIZE, ShmSegmentError, initSegmentHeader, nearCapacityMessage } from '../../src/wire/shm-segment.js';
import { diagnostic } from '../../runtime/diagnostics.js';
import { attachMapping, shmAvailable } from './mapping.js';
import { createOwnedSegment } from './owned-segments.js';

/** Whether segments can be mapped in this process. */
export const segmentsAvailable = (): boolean => shmAvailable();

/** The writer threshold: `VGI_RPC_SHM_MIN_BATCH_BYTES` when it is an integer, else 128 KiB. */
export const minBatchBytesFromEnv = (): number => parseMinBatchBytes(process.env.VGI_RPC_SHM_MIN_BATCH_BYTES);

/**
 * The server side: attach a client's segment by name (undefined where
 * segments cannot be mapped). The server never unlinks it; the client owns it.
 */
export const segmentAttacher = (minBatchBytes: number = minBatchBytesFromEnv()): SegmentAttacher | undefined => {
  if (!shmAvailable()) return undefined;
  return {
    minBatchBytes,
    onNearCapacity: (count, segment) => diagnostic('warning')(`vgi-rpc: ${nearCapacityMessage(count)} in segment ${segment}`),
    attach: (name: string): AttachedSegment => {
      const m = attachMapping(name);
      return { name: m.name, bytes: m.bytes, close: () => m.close() };
    },
  };
};

/** The server's default: accept clients' segments where they can be mapped; `false` turns it off. */
export const defaultAttacher = (given: SegmentAttacher | false | undefined): SegmentAttacher | undefined =>
  given === false ? undefined : given ?? segmentAttacher();

/**
 * The client's near-capacity warning: a process warning (stderr, unless the
 * application listens for 'warning'), the first time the segment's table
 * reaches 80% of capacity, rather than on every allocation above it as the
 * reference's logger does (the server logs each one).
 */
const nearCapacityWarning = (segment: string): ((count: number) => void) => {
  let warned = false;
  return (count) => {
    if (warned) return;
    warned = true;
    process.emitWarning(`${nearCapacityMessage(count)} in segment ${segment}`, { code: 'VGI_RPC_SHM_NEAR_CAPACITY' });
  };
};

/** Options of a client segment. */
export interface ClientSegmentOptions {
  /** Bytes of the segment, header included (more than 65,536). */
  readonly size: number;
  /** Batch bodies of at least this many bytes go through the segment (default: VGI_RPC_SHM_MIN_BATCH_BYTES, else 128 KiB). */
  readonly minBatchBytes?: number;
  /**
   * Decode producer and exchange output over the segment, without a copy
   * (default false). A batch is then valid only until its stream moves on
   * (the next pull, tick or exchange, or the stream's end); see ClientSegment.zeroCopy.
   */
  readonly zeroCopy?: boolean;
}

/**
 * Create a segment this client owns: mode 0600, a fresh `vgi_<pid>_` name,
 * its header initialised for the mapping's actual size. `close()` unmaps and
 * unlinks it; so does this process's exit or death by signal (owned-segments.ts).
 */
export const createClientSegment = (options: ClientSegmentOptions): ClientSegment => {
  const { size } = options;
  if (!Number.isSafeInteger(size) || size <= SHM_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `Segment size must be > ${SHM_HEADER_SIZE}, got ${size}`);
  const owned = createOwnedSegment(size);
  try {
    initSegmentHeader(owned.bytes, owned.bytes.byteLength);
    return {
      channel: new ShmChannel({ name: owned.name, bytes: owned.bytes }, options.minBatchBytes ?? minBatchBytesFromEnv(), { onNearCapacity: nearCapacityWarning(owned.name) }),
      zeroCopy: options.zeroCopy === true,
      close: () => owned.close(),
    };
  } catch (e) {
    owned.close();
    throw e;
  }
};
