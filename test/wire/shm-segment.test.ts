import { describe, expect, it } from 'vitest';
import {
  SHM_HEADER_SIZE,
  SHM_MAX_ALLOCS,
  SHM_WARN_ALLOCS,
  SegmentAllocator,
  ShmSegmentError,
  initSegmentHeader,
  readSegmentHeader,
  validateSegmentHeader,
} from '../../src/wire/shm-segment.js';

/**
 * An independent reader of the segment header, written from the layout in
 * the reference's wire doc (section 11) and protocol-facts section 4, not
 * from our codec: offset 0 magic "VGIS", 4 u32 version, 8 u64 data_size,
 * 16 u32 num_allocs, 20 u32 padding, 24 + i*16 (u64 offset, u64 length),
 * all little-endian. It plays the part of the reference's Rust `shm_dump`.
 */
const dumpHeader = (bytes: Uint8Array) => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  const version = dv.getUint32(4, true);
  const dataSize = Number(dv.getBigUint64(8, true));
  const numAllocs = dv.getUint32(16, true);
  const padding = dv.getUint32(20, true);
  const allocs: [number, number][] = [];
  for (let i = 0; i < numAllocs; i++) allocs.push([Number(dv.getBigUint64(24 + i * 16, true)), Number(dv.getBigUint64(32 + i * 16, true))]);
  return { magic, version, size: bytes.byteLength, dataSize, numAllocs, padding, allocs };
};

/** A fresh segment of `size` bytes in plain memory (the mapping's stand-in) with its allocator. */
const segment = (size: number) => {
  const bytes = new Uint8Array(size);
  initSegmentHeader(bytes, size);
  return { bytes, alloc: new SegmentAllocator({ name: 'test', bytes }) };
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('segment header golden bytes (tests/test_shm_header_format.py)', () => {
  // The reference's SHM_HEADER_GOLDEN_HEX, also protocol-facts section 4.
  const GOLDEN = '5647495301000000004000000000000002000000000000000000010000000000640000000000000000010100000000003200000000000000';

  it('header layout matches the canonical golden bytes', () => {
    const { bytes, alloc } = segment(SHM_HEADER_SIZE + 16384);
    const a = alloc.allocate(100);
    const gap = alloc.allocate(156);
    const b = alloc.allocate(50);
    expect(a).toBe(SHM_HEADER_SIZE);
    expect(gap).toBe(SHM_HEADER_SIZE + 100);
    alloc.free(gap!);
    expect(b).toBe(SHM_HEADER_SIZE + 256);
    expect(hex(bytes.subarray(0, 56))).toBe(GOLDEN);
  });

  it('struct format constants: 24-byte fixed header, 16-byte entries, 4094 entries', () => {
    expect(4 + 4 + 8 + 4 + 4).toBe(24);
    expect(SHM_MAX_ALLOCS).toBe(4094);
    expect(Math.floor((SHM_HEADER_SIZE - 24) / 16)).toBe(SHM_MAX_ALLOCS);
  });

  it('the golden header decodes as the state it pins', () => {
    const bytes = new Uint8Array(SHM_HEADER_SIZE + 16384);
    bytes.set(Buffer.from(GOLDEN, 'hex'));
    validateSegmentHeader(bytes);
    expect(readSegmentHeader(bytes)).toEqual({ magic: 'VGIS', version: 1, dataSize: 16384, numAllocs: 2, allocations: [[65536, 100], [65792, 50]] });
    // Our allocator continues from the golden state: first fit lands in the freed gap.
    const alloc = new SegmentAllocator({ name: 'golden', bytes });
    expect(alloc.allocate(156)).toBe(65636);
    expect(alloc.allocate(1)).toBe(65842);
  });
});

describe('an independent reader agrees with our header (tests/test_shm_cross_language.py)', () => {
  it('sees an empty segment', () => {
    const { bytes } = segment(SHM_HEADER_SIZE + 64 * 1024);
    const v = dumpHeader(bytes);
    expect(v.magic).toBe('VGIS');
    expect(v.version).toBe(1);
    expect(v.size).toBe(bytes.byteLength);
    expect(v.dataSize).toBe(bytes.byteLength - SHM_HEADER_SIZE);
    expect(v.numAllocs).toBe(0);
    expect(v.padding).toBe(0);
    expect(v.allocs).toEqual([]);
  });

  it('sees allocated regions after a free in the middle', () => {
    const { bytes, alloc } = segment(SHM_HEADER_SIZE + 16 * 1024);
    const a = alloc.allocate(256)!;
    const b = alloc.allocate(512)!;
    const c = alloc.allocate(128)!;
    alloc.free(b);
    const v = dumpHeader(bytes);
    expect(v.numAllocs).toBe(2);
    expect(v.allocs).toEqual([[a, 256], [c, 128]]);
  });

  it('sees a full allocation table of 64 entries (a non-page-aligned size)', () => {
    const n = 64;
    const per = 32;
    const { bytes, alloc } = segment(SHM_HEADER_SIZE + n * per * 2);
    const offsets: number[] = [];
    for (let i = 0; i < n; i++) offsets.push(alloc.allocate(per)!);
    const v = dumpHeader(bytes);
    expect(v.numAllocs).toBe(n);
    expect(v.dataSize).toBe(n * per * 2);
    expect(v.allocs).toEqual(offsets.map((o) => [o, per]));
  });
});

describe('first-fit allocator (tests/test_shm.py TestShmAllocator)', () => {
  it('a fresh allocator has no allocations', () => {
    expect(segment(SHM_HEADER_SIZE + 8192).alloc.allocations()).toEqual([]);
  });

  it('the first allocation starts at the header end', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    expect(alloc.allocate(100)).toBe(SHM_HEADER_SIZE);
    expect(alloc.allocations()).toEqual([[SHM_HEADER_SIZE, 100]]);
  });

  it('allocations are contiguous and sorted', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    expect(alloc.allocate(100)).toBe(SHM_HEADER_SIZE);
    expect(alloc.allocate(200)).toBe(SHM_HEADER_SIZE + 100);
    expect(alloc.allocations()).toEqual([[SHM_HEADER_SIZE, 100], [SHM_HEADER_SIZE + 100, 200]]);
  });

  it('returns undefined when the segment is full', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 100);
    expect(alloc.allocate(100)).toBe(SHM_HEADER_SIZE);
    expect(alloc.allocate(1)).toBeUndefined();
  });

  it('freed space is reused', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    const o1 = alloc.allocate(100)!;
    alloc.allocate(200);
    alloc.free(o1);
    expect(alloc.allocate(50)).toBe(SHM_HEADER_SIZE);
  });

  it('freeing an unknown offset fails', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    expect(() => alloc.free(9999)).toThrow(/No allocation at offset/);
    expect(() => alloc.free(9999)).toThrow(ShmSegmentError);
  });

  it('reset clears every allocation', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    alloc.allocate(100);
    alloc.allocate(200);
    alloc.reset();
    expect(alloc.allocations()).toEqual([]);
    expect(alloc.allocate(50)).toBe(SHM_HEADER_SIZE);
  });

  it('a freed gap between allocations is reused first-fit', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    alloc.allocate(100);
    const o2 = alloc.allocate(100)!;
    alloc.allocate(100);
    alloc.free(o2);
    expect(alloc.allocate(50)).toBe(o2);
    expect(alloc.allocate(50)).toBe(o2 + 50);
  });

  it('a zero-size allocation fails', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    expect(() => alloc.allocate(0)).toThrow(/positive/);
  });

  it('bad magic is refused on attach', () => {
    const bytes = new Uint8Array(SHM_HEADER_SIZE + 1024);
    expect(() => new SegmentAllocator({ name: 'x', bytes })).toThrow(/Bad SHM magic/);
  });

  it('a wrong version is refused on attach', () => {
    const bytes = new Uint8Array(SHM_HEADER_SIZE + 1024);
    initSegmentHeader(bytes);
    new DataView(bytes.buffer).setUint32(4, 99, true);
    expect(() => new SegmentAllocator({ name: 'x', bytes })).toThrow(/Unsupported SHM version: 99/);
  });

  it('data_size must equal the mapping size minus the header', () => {
    const bytes = new Uint8Array(SHM_HEADER_SIZE + 8192);
    initSegmentHeader(bytes, SHM_HEADER_SIZE + 4096);
    expect(() => validateSegmentHeader(bytes)).toThrow(/data_size mismatch: header says 4096, expected 8192/);
    // A creator that wrote the requested size but got a page-rounded mapping would fail the same way.
    expect(() => validateSegmentHeader(bytes, SHM_HEADER_SIZE + 4096)).not.toThrow();
  });

  it('a segment no larger than its header is refused', () => {
    expect(() => initSegmentHeader(new Uint8Array(SHM_HEADER_SIZE))).toThrow(/must be >/);
  });

  it('num_allocs follows allocations and frees', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 8192);
    expect(alloc.numAllocs).toBe(0);
    alloc.allocate(100);
    expect(alloc.numAllocs).toBe(1);
    alloc.allocate(200);
    expect(alloc.numAllocs).toBe(2);
    alloc.free(SHM_HEADER_SIZE);
    expect(alloc.numAllocs).toBe(1);
  });

  it('holds more than 254 allocations', () => {
    const { alloc } = segment(SHM_HEADER_SIZE + 300 * 16);
    for (let i = 0; i < 300; i++) expect(alloc.allocate(16)).toBe(SHM_HEADER_SIZE + i * 16);
    expect(alloc.numAllocs).toBe(300);
  });

  it('reports near capacity at 80% of the table, and refuses past 4094 entries', () => {
    const bytes = new Uint8Array(SHM_HEADER_SIZE + SHM_MAX_ALLOCS * 8 + 8);
    initSegmentHeader(bytes);
    const warned: number[] = [];
    const alloc = new SegmentAllocator({ name: 'x', bytes }, { onNearCapacity: (n) => warned.push(n) });
    for (let i = 0; i < SHM_WARN_ALLOCS - 1; i++) alloc.allocate(8);
    expect(warned).toEqual([]);
    alloc.allocate(8);
    expect(warned).toEqual([SHM_WARN_ALLOCS]);
    for (let i = SHM_WARN_ALLOCS; i < SHM_MAX_ALLOCS; i++) alloc.allocate(8);
    expect(alloc.numAllocs).toBe(SHM_MAX_ALLOCS);
    // Room for one more 8-byte region, but the table is full.
    expect(alloc.allocate(8)).toBeUndefined();
    expect(dumpHeader(bytes).allocs.at(-1)).toEqual([SHM_HEADER_SIZE + (SHM_MAX_ALLOCS - 1) * 8, 8]);
  });
});
