/**
 * The reference's shared-memory segment format (vgi_rpc/shm.py, wire doc
 * section 11): a 65,536-byte little-endian header followed by the data
 * region. The header is `VGIS`, u32 version 1, u64 data_size (the mapping's
 * kernel size minus the header), u32 num_allocs, u32 padding, then up to
 * 4,094 `(u64 absolute offset, u64 length)` entries sorted by offset. Both
 * peers mutate it without locks; the RPC's lockstep makes that safe.
 *
 * The allocator is first-fit over the gaps (from the header's end to the
 * first allocation, between allocations, and the tail) and frees by offset,
 * so it tracks only occupied regions and free space coalesces by itself.
 * Pure byte logic: the mapping is whatever gives a Uint8Array over it.
 */

/** Bytes of the segment header; the data region starts here. */
export const SHM_HEADER_SIZE = 65536;

/** Bytes of the fixed header fields before the allocation table. */
export const SHM_FIXED_HEADER_SIZE = 24;

/** Bytes of one allocation entry. */
export const SHM_ENTRY_SIZE = 16;

/** Most allocations the header can hold: floor((65536 - 24) / 16). */
export const SHM_MAX_ALLOCS = Math.floor((SHM_HEADER_SIZE - SHM_FIXED_HEADER_SIZE) / SHM_ENTRY_SIZE);

/** The header's format version. */
export const SHM_VERSION = 1;

/** The allocation count at which the reference logs a near-capacity warning (80%). */
export const SHM_WARN_ALLOCS = Math.floor(SHM_MAX_ALLOCS * 0.8);

const MAGIC = [0x56, 0x47, 0x49, 0x53]; // "VGIS"

/** Why a segment operation failed. */
export type ShmErrorReason = 'badMagic' | 'badVersion' | 'sizeMismatch' | 'tooSmall' | 'badSize' | 'unknownOffset' | 'corruptHeader' | 'badPointer';

/** A segment that cannot be used as the protocol requires, or a pointer into it that cannot be resolved. */
export class ShmSegmentError extends Error {
  override readonly name = 'ShmSegmentError';
  /** Error type written on the wire when this error is reported to a peer. */
  readonly errorType = 'ProtocolError';

  /** `reason` names the failed check. */
  constructor(readonly reason: ShmErrorReason, message: string) {
    super(message);
  }
}

/** A segment as the protocol core sees it: its name and its whole mapping. */
export interface SegmentBytes {
  /** The name the owner gave it (sent on requests as `vgi_rpc.shm_segment_name`). */
  readonly name: string;
  /** The whole mapping; its length is the kernel-reported size. */
  readonly bytes: Uint8Array;
}

/** The decoded fixed header and allocation table. */
export interface SegmentHeader {
  readonly magic: string;
  readonly version: number;
  readonly dataSize: number;
  readonly numAllocs: number;
  readonly allocations: readonly (readonly [offset: number, length: number])[];
}

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Write a fresh header (no allocations) for a segment of `totalSize` bytes, the mapping's actual size. */
export const initSegmentHeader = (bytes: Uint8Array, totalSize: number = bytes.byteLength): void => {
  if (totalSize <= SHM_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `Segment size must be > ${SHM_HEADER_SIZE}, got ${totalSize}`);
  if (bytes.byteLength < SHM_FIXED_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `a segment header needs ${SHM_FIXED_HEADER_SIZE} bytes, got ${bytes.byteLength}`);
  const dv = view(bytes);
  bytes.set(MAGIC, 0);
  dv.setUint32(4, SHM_VERSION, true);
  dv.setBigUint64(8, BigInt(totalSize - SHM_HEADER_SIZE), true);
  dv.setUint32(16, 0, true);
  dv.setUint32(20, 0, true);
};

/** Decode the header of `bytes` as it stands (no validation beyond the table fitting in the header). */
export const readSegmentHeader = (bytes: Uint8Array): SegmentHeader => {
  if (bytes.byteLength < SHM_FIXED_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `a segment header needs ${SHM_FIXED_HEADER_SIZE} bytes, got ${bytes.byteLength}`);
  const dv = view(bytes);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  return { magic, version: dv.getUint32(4, true), dataSize: Number(dv.getBigUint64(8, true)), numAllocs: dv.getUint32(16, true), allocations: readAllocations(bytes) };
};

const readAllocations = (bytes: Uint8Array): [number, number][] => {
  const dv = view(bytes);
  const n = dv.getUint32(16, true);
  if (n > SHM_MAX_ALLOCS || SHM_FIXED_HEADER_SIZE + n * SHM_ENTRY_SIZE > bytes.byteLength) {
    throw new ShmSegmentError('corruptHeader', `segment header claims ${n} allocations; at most ${SHM_MAX_ALLOCS} fit`);
  }
  const out: [number, number][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = SHM_FIXED_HEADER_SIZE + i * SHM_ENTRY_SIZE;
    out[i] = [Number(dv.getBigUint64(p, true)), Number(dv.getBigUint64(p + 8, true))];
  }
  return out;
};

const writeAllocations = (bytes: Uint8Array, allocs: readonly (readonly [number, number])[]): void => {
  const dv = view(bytes);
  dv.setUint32(16, allocs.length, true);
  for (let i = 0; i < allocs.length; i++) {
    const p = SHM_FIXED_HEADER_SIZE + i * SHM_ENTRY_SIZE;
    dv.setBigUint64(p, BigInt(allocs[i]![0]), true);
    dv.setBigUint64(p + 8, BigInt(allocs[i]![1]), true);
  }
};

/**
 * Check an attached segment's header as the reference does on attach: the
 * magic, the version, and data_size equal to `kernelSize` (the mapping's
 * size as the kernel reports it, page-rounded) minus the header.
 */
export const validateSegmentHeader = (bytes: Uint8Array, kernelSize: number = bytes.byteLength): void => {
  if (bytes.byteLength < SHM_FIXED_HEADER_SIZE) throw new ShmSegmentError('tooSmall', `segment of ${bytes.byteLength} bytes is smaller than its header`);
  const dv = view(bytes);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2] || bytes[3] !== MAGIC[3]) {
    throw new ShmSegmentError('badMagic', `Bad SHM magic: ${JSON.stringify(String.fromCharCode(...bytes.subarray(0, 4)))}`);
  }
  const version = dv.getUint32(4, true);
  if (version !== SHM_VERSION) throw new ShmSegmentError('badVersion', `Unsupported SHM version: ${version}`);
  const dataSize = dv.getBigUint64(8, true);
  const expected = BigInt(kernelSize - SHM_HEADER_SIZE);
  if (dataSize !== expected) throw new ShmSegmentError('sizeMismatch', `data_size mismatch: header says ${dataSize}, expected ${expected}`);
};

/** The reference's near-capacity warning for `count` allocations. */
export const nearCapacityMessage = (count: number): string =>
  `SHM allocator near capacity: ${count}/${SHM_MAX_ALLOCS} allocations (${Math.round((count * 100) / SHM_MAX_ALLOCS)}%)`;

/** Options of a SegmentAllocator. */
export interface AllocatorOptions {
  /** Called when an allocation brings the count to 80% of the table or more (the reference logs a warning). */
  readonly onNearCapacity?: (count: number) => void;
}

/**
 * The first-fit allocator over a segment's header. Every call reads the
 * table afresh from the shared bytes (the peer changes it between turns).
 */
export class SegmentAllocator {
  private readonly bytes: Uint8Array;
  private readonly totalSize: number;

  /** Attach to the header of `segment`, validated against its mapping's size. */
  constructor(private readonly segment: SegmentBytes, private readonly options: AllocatorOptions = {}) {
    this.bytes = segment.bytes;
    this.totalSize = segment.bytes.byteLength;
    validateSegmentHeader(this.bytes, this.totalSize);
  }

  /** The current allocations, sorted by offset. */
  allocations(): (readonly [number, number])[] {
    return readAllocations(this.bytes);
  }

  /** Number of live allocations. */
  get numAllocs(): number {
    return view(this.bytes).getUint32(16, true);
  }

  /** The first gap of at least `size` bytes, recorded as allocated; undefined when none fits or the table is full. */
  allocate(size: number): number | undefined {
    if (!Number.isSafeInteger(size) || size <= 0) throw new ShmSegmentError('badSize', 'Allocation size must be positive');
    const allocs = this.allocations();
    if (allocs.length >= SHM_MAX_ALLOCS) return undefined;
    let prevEnd = SHM_HEADER_SIZE;
    let at = allocs.length;
    for (let i = 0; i < allocs.length; i++) {
      const [off, len] = allocs[i]!;
      if (off - prevEnd >= size) {
        at = i;
        break;
      }
      prevEnd = off + len;
    }
    if (at === allocs.length && this.totalSize - prevEnd < size) return undefined;
    allocs.splice(at, 0, [prevEnd, size]);
    this.store(allocs);
    if (allocs.length >= SHM_WARN_ALLOCS) this.options.onNearCapacity?.(allocs.length);
    return prevEnd;
  }

  /** Remove the allocation starting at `offset`; throws when there is none. */
  free(offset: number): void {
    const allocs = this.allocations();
    const i = allocs.findIndex(([off]) => off === offset);
    if (i < 0) throw new ShmSegmentError('unknownOffset', `No allocation at offset ${offset}`);
    allocs.splice(i, 1);
    this.store(allocs);
  }

  /** Clear every allocation (num_allocs = 0). */
  reset(): void {
    this.store([]);
  }

  private store(allocs: readonly (readonly [number, number])[]): void {
    writeAllocations(this.bytes, allocs);
  }
}
