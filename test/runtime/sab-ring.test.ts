/**
 * The SAB ring on one thread (writer and reader interleaved through the
 * event loop): every byte arrives in order at every wrap offset, frames
 * larger than the ring stream through it, a full ring makes the writer wait
 * without growing, and each side's close reaches the other.
 */
import { describe, expect, it } from 'vitest';
import { RING_HEADER_BYTES, RingError, RingReader, RingWriter, createRing, markCrashed } from '../../runtime/sab-ring.js';

/** A seeded PRNG (mulberry32): failures name their seed and replay. */
const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Frame `k`'s bytes: distinct per frame and per position, so a misplaced byte shows. */
const frameBytes = (k: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (k * 31 + i * 7 + (i >> 8)) & 0xff;
  return out;
};

const ends = (capacity: number): { writer: RingWriter; reader: RingReader; sab: SharedArrayBuffer } => {
  const sab = createRing(capacity);
  return { sab, writer: RingWriter.attach(sab), reader: RingReader.attach(sab) };
};

/** Settled state of a promise after the event loop has turned a few times. */
const stateAfterTicks = async (p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => { state = 'resolved'; }, () => { state = 'rejected'; });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return state;
};

/**
 * Write `sizes` as frames (without awaiting each) while reading them back
 * concurrently, checking every byte. Each frame is written as random
 * pieces, and the reader sometimes yields first, so the copies in and out
 * meet the wrap at many points.
 */
const roundTrip = async (writer: RingWriter, reader: RingReader, sizes: readonly number[], rand: () => number): Promise<void> => {
  const writing = (async () => {
    for (let k = 0; k < sizes.length; k++) {
      const bytes = frameBytes(k, sizes[k]!);
      // Split into up to three chunks at random points.
      const a = Math.floor(rand() * (bytes.byteLength + 1));
      const b = a + Math.floor(rand() * (bytes.byteLength - a + 1));
      const w = writer.write([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
      if (w !== undefined && rand() < 0.5) await w;
    }
    await writer.close();
  })();
  for (let k = 0; k < sizes.length; k++) {
    // A reader that sometimes lets the writer run first sees the ring in more states (a frame split at the wrap).
    if (rand() < 0.3) await new Promise((r) => setImmediate(r));
    const f = await reader.read();
    expect(f).not.toBeNull();
    expect(f!.byteLength).toBe(sizes[k]);
    expect(Buffer.from(f!).equals(Buffer.from(frameBytes(k, sizes[k]!)))).toBe(true);
  }
  expect(await reader.read()).toBeNull();
  await writing;
};

describe('SAB ring, one thread', () => {
  it('delivers frames of every size at every wrap offset of small rings', async () => {
    for (const capacity of [1, 2, 3, 5, 8, 13, 16]) {
      for (let offset = 0; offset < capacity; offset++) {
        for (const size of [0, 1, 2, 3, 4, 5, capacity - 1, capacity, capacity + 1, 2 * capacity + 3]) {
          if (size < 0) continue;
          // A filler frame moves both positions to `offset` (its 4-byte prefix included).
          let advance = offset;
          while (advance < 4) advance += capacity;
          const w2 = ends(capacity);
          const filler = w2.writer.write(new Uint8Array(advance - 4));
          const got = await w2.reader.read();
          await filler;
          expect(got!.byteLength).toBe(advance - 4);
          // Whatever was left of the ring's wrap, the frame now starts at `offset`.
          await roundTrip(w2.writer, w2.reader, [size, size, 1], prng(capacity * 1000 + offset));
        }
      }
    }
  });

  it('fuzz: random ring sizes, random frame sizes and chunkings, every byte in order', async () => {
    const seed = Number(process.env.RING_FUZZ_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    for (let round = 0; round < 60; round++) {
      const capacity = 1 + Math.floor(rand() * 300);
      const sizes = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * (rand() < 0.2 ? 4 * capacity : capacity)));
      const { writer, reader } = ends(capacity);
      await roundTrip(writer, reader, sizes, rand).catch((e: unknown) => {
        throw new Error(`fuzz seed ${seed}, round ${round}, capacity ${capacity}, sizes ${sizes.join(',')}: ${String(e)}`);
      });
    }
  });

  it('streams a frame many times the ring through it', async () => {
    const { writer, reader } = ends(64);
    const big = frameBytes(9, 64 * 1000 + 17);
    const w = writer.write(big);
    expect(w).toBeInstanceOf(Promise);
    const f = await reader.read();
    await w;
    expect(Buffer.from(f!).equals(Buffer.from(big))).toBe(true);
  });

  it('backpressure: a full ring makes the writer wait, and nothing grows', async () => {
    const { writer, reader, sab } = ends(100);
    const frame = new Uint8Array(20);
    // 4 frames of 24 bytes fit; the fifth does not.
    for (let i = 0; i < 4; i++) expect(writer.write(frame)).toBeUndefined();
    const blocked = writer.write(frame) as Promise<void>;
    expect(blocked).toBeInstanceOf(Promise);
    const later = writer.write(frame) as Promise<void>;
    expect(await stateAfterTicks(blocked)).toBe('pending');
    expect(await stateAfterTicks(later)).toBe('pending');
    expect(writer.buffered).toBeLessThanOrEqual(100);
    expect(sab.byteLength).toBe(RING_HEADER_BYTES + 100);
    // Reading frees space: the queued writes complete, in order.
    for (let i = 0; i < 6; i++) expect((await reader.read())!.byteLength).toBe(20);
    await blocked;
    await later;
    expect(writer.buffered).toBe(0);
  });

  it('writer close: the reader reads what was written, then end of stream; a pending read wakes with it', async () => {
    const { writer, reader } = ends(32);
    writer.write(frameBytes(1, 10));
    await writer.close();
    expect(Array.from((await reader.read())!)).toEqual(Array.from(frameBytes(1, 10)));
    expect(await reader.read()).toBeNull();

    const second = ends(32);
    const pending = second.reader.read();
    expect(await stateAfterTicks(pending)).toBe('pending');
    await second.writer.close();
    expect(await pending).toBeNull();
    expect(() => second.writer.write(new Uint8Array(1))).toThrow(RingError);
  });

  it('reader close: a writer waiting for space wakes with peer-closed, later writes throw', async () => {
    const { writer, reader } = ends(16);
    const blocked = writer.write(new Uint8Array(100)) as Promise<void>;
    expect(await stateAfterTicks(blocked)).toBe('pending');
    reader.close();
    await expect(blocked).rejects.toMatchObject({ name: 'RingError', reason: 'peer-closed' });
    let thrown: unknown;
    try { writer.write(new Uint8Array(1)); } catch (e) { thrown = e; }
    expect(thrown).toBeInstanceOf(RingError);
    expect((thrown as RingError).reason).toBe('peer-closed');
    expect(await reader.read()).toBeNull();
  });

  it('writer abort in the middle of a frame: the reader gets peer-aborted after the whole frames', async () => {
    const { writer, reader } = ends(16);
    writer.write(new Uint8Array(3));
    const big = writer.write(new Uint8Array(100)) as Promise<void>;
    expect((await reader.read())!.byteLength).toBe(3);
    const pending = reader.read();
    expect(await stateAfterTicks(pending)).toBe('pending');
    writer.abort();
    await expect(pending).rejects.toMatchObject({ name: 'RingError', reason: 'peer-aborted' });
    await expect(big).rejects.toMatchObject({ name: 'RingError', reason: 'closed' });
  });

  it('a writer marked crashed wakes a waiting reader with peer-crashed and the exit code', async () => {
    const { reader, sab } = ends(16);
    const pending = reader.read();
    expect(await stateAfterTicks(pending)).toBe('pending');
    markCrashed(sab, 'writer', 7);
    await expect(pending).rejects.toMatchObject({ name: 'RingError', reason: 'peer-crashed', exitCode: 7 });
  });

  it('a cleanly closed writer stays closed when its thread exits afterwards', async () => {
    const { writer, reader, sab } = ends(16);
    writer.write(new Uint8Array(2));
    await writer.close();
    markCrashed(sab, 'writer', 1);
    expect((await reader.read())!.byteLength).toBe(2);
    expect(await reader.read()).toBeNull();
  });

  it('stream mode: readInto yields the frames\' bytes in order across frames and wraps, into targets of any size', async () => {
    const rand = prng(4242);
    for (let round = 0; round < 40; round++) {
      const capacity = 5 + Math.floor(rand() * 200);
      const sizes = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 2 * capacity));
      const expected = Buffer.concat(sizes.map((n, k) => frameBytes(k, n)));
      const { writer, reader } = ends(capacity);
      const writing = (async () => {
        for (let k = 0; k < sizes.length; k++) {
          const w = writer.write(frameBytes(k, sizes[k]!));
          if (w !== undefined) await w;
        }
        await writer.close();
      })();
      const got = new Uint8Array(expected.byteLength);
      let at = 0;
      for (;;) {
        // Targets from 1 byte to more than the ring, as a FrameSource hands out.
        const n = reader.readInto(got.subarray(at, Math.min(got.byteLength, at + 1 + Math.floor(rand() * 2 * capacity))));
        if (n === null) break;
        if (n === 0) await reader.readable();
        at += n;
      }
      await writing;
      expect(at).toBe(expected.byteLength);
      expect(Buffer.from(got).equals(expected)).toBe(true);
    }
  });

  it('stream mode: a writer that aborts in the middle of a frame fails readInto with peer-aborted', async () => {
    const { writer, reader } = ends(16);
    const w = writer.write(new Uint8Array(40)) as Promise<void>;
    const into = new Uint8Array(64);
    let n: number | null = 0;
    while (n === 0) n = reader.readInto(into);
    expect(n).toBe(16 - 4);
    writer.abort();
    await w.catch(() => undefined);
    expect(() => reader.readInto(into)).toThrow(expect.objectContaining({ reason: 'peer-aborted' }));
  });

  it('a reader waiting for `want` bytes sleeps through smaller writes and wakes once they are there', async () => {
    const { writer, reader } = ends(1024);
    const woke = reader.readable(300) as Promise<unknown>;
    expect(woke).toBeInstanceOf(Promise);
    writer.write(new Uint8Array(100));
    writer.write(new Uint8Array(100));
    expect(await stateAfterTicks(woke)).toBe('pending');
    writer.write(new Uint8Array(100));
    expect(await stateAfterTicks(woke)).toBe('resolved');
    // A want larger than half the ring waits for half the ring only, so a writer waiting for space always wakes it.
    const { writer: w2, reader: r2 } = ends(100);
    const half = r2.readable(10_000) as Promise<unknown>;
    w2.write(new Uint8Array(46));
    expect(await stateAfterTicks(half)).toBe('resolved');
  });

  it('rejects a buffer that is not a ring', () => {
    expect(() => RingReader.attach(new SharedArrayBuffer(1024))).toThrow(TypeError);
    expect(() => createRing(0)).toThrow(RangeError);
  });
});
