/**
 * Cross-process shared-memory segments for the byte-stream transports: the
 * server side attaches a client's segment (a SegmentAttacher for the
 * dispatcher), the client side creates, owns and unlinks one (a
 * ClientSegment for RpcConnection). Both sit on the mapping API of
 * `mapping.ts`; this file is the only one that imports it.
 */
import { randomBytes } from 'node:crypto';
import type { ClientSegment } from '../../src/client/client-shm.js';
import type { AttachedSegment, SegmentAttacher } from '../../src/protocol/connection-shm.js';
import { ShmChannel, parseMinBatchBytes } from '../../src/wire/shm-pointer.js';
import { SHM_FIXED_HEADER_SIZE, SHM_HEADER_SIZE, type SegmentBytes, ShmSegmentError, initSegmentHeader } from '../../src/wire/shm-segment.js';
// The mapping in use. Until the native addon's `./mapping.js` is merged this is the /dev/shm stand-in;
// swapping it is this one line (both export shmAvailable, createMapping, attachMapping, unlinkMapping).
import { type SharedMapping, attachMapping, createMapping, shmAvailable, unlinkMapping } from './mapping-fallback.js';

/** Whether segments can be mapped in this process. */
export const segmentsAvailable = (): boolean => shmAvailable();

/** The writer threshold: `VGI_RPC_SHM_MIN_BATCH_BYTES` when it is an integer, else 128 KiB. */
export const minBatchBytesFromEnv = (): number => parseMinBatchBytes(process.env.VGI_RPC_SHM_MIN_BATCH_BYTES);

const segmentOf = (m: SharedMapping): SegmentBytes => {
  const sync = (m as { sync?: SegmentBytes['sync'] }).sync;
  return sync === undefined ? { name: m.name, bytes: m.bytes } : { name: m.name, bytes: m.bytes, sync };
};

/**
 * The server side: attach a client's segment by name (undefined where
 * segments cannot be mapped). The server never unlinks it; the client owns it.
 */
export const segmentAttacher = (minBatchBytes: number = minBatchBytesFromEnv()): SegmentAttacher | undefined => {
  if (!shmAvailable()) return undefined;
  return {
    minBatchBytes,
    attach: (name: string): AttachedSegment => {
      const m = attachMapping(name);
      return { ...segmentOf(m), close: () => m.close() };
    },
  };
};

/** The server's default: accept clients' segments where they can be mapped; `false` turns it off. */
export const defaultAttacher = (given: SegmentAttacher | false | undefined): SegmentAttacher | undefined =>
  given === false ? undefined : given ?? segmentAttacher();

/** Options of a client segment. */
export interface ClientSegmentOptions {
  /** Bytes of the segment, header included (more than 65,536). */
  readonly size: number;
  /** Batch bodies of at least this many bytes go through the segment (default: VGI_RPC_SHM_MIN_BATCH_BYTES, else 128 KiB). */
  readonly minBatchBytes?: number;
}

const live = new Set<string>();
let exitHook = false;

/** Unlink every segment this process still owns when it exits (a crash mid-call leaves none behind in /dev/shm). */
const unlinkAtExit = (name: string): void => {
  live.add(name);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const n of live) {
      try {
        unlinkMapping(n);
      } catch {
        // Nothing more can be done while exiting.
      }
    }
  });
};

/**
 * Create a segment this client owns: mode 0600, a fresh `psm_` name, its
 * header initialised for the mapping's actual size. `close()` unmaps and
 * unlinks it; so does this process's exit.
 */
export const createClientSegment = (options: ClientSegmentOptions): ClientSegment => {
  const { size } = options;
  if (!Number.isSafeInteger(size) || size <= SHM_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `Segment size must be > ${SHM_HEADER_SIZE}, got ${size}`);
  if (!shmAvailable()) throw new ShmSegmentError('tooSmall', 'shared memory is not available on this platform');
  const name = `psm_${randomBytes(8).toString('hex')}`;
  const m = createMapping(name, size);
  unlinkAtExit(name);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    live.delete(name);
    try {
      m.close();
    } finally {
      unlinkMapping(name);
    }
  };
  try {
    const segment = segmentOf(m);
    initSegmentHeader(segment.bytes, segment.bytes.byteLength);
    segment.sync?.push(0, SHM_FIXED_HEADER_SIZE);
    return { channel: new ShmChannel(segment, options.minBatchBytes ?? minBatchBytesFromEnv()), close };
  } catch (e) {
    close();
    throw e;
  }
};
