import { describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { encodeStream, concatBytes } from '../../src/wire/batch-encoder.js';
import { FrameSource, SCRATCH_BYTES } from '../../src/wire/frame-source.js';
import type { Frame } from '../../src/wire/stream-reader.js';

/** Two streams back to back: a small batch, then a batch whose body is far larger than the scratch buffer. */
const input = (): { bytes: Uint8Array; rows: number[] } => {
  const small = A.tableFromArrays({ x: Float64Array.from([1.5, 2.5]) }).batches[0]!;
  const n = 100_000;
  const big = A.tableFromArrays({ x: Float64Array.from({ length: n }, (_, i) => i * 0.5) }).batches[0]!;
  return { bytes: concatBytes([encodeStream(small.schema, [small]), encodeStream(big.schema, [big, small])]), rows: [2, n, 2] };
};

/**
 * Feed `bytes` the way Node's `onread` does: each read writes up to the
 * target's length (and at most `readSize`) into the buffer readTarget()
 * returned, then reports it. The consumer pulls frames only every `lag`
 * reads, as a slow consumer would.
 */
const feed = (bytes: Uint8Array, readSize: number, lag: number): { frames: Frame[]; direct: number; scratchReads: number } => {
  const src = new FrameSource();
  const frames: Frame[] = [];
  let pos = 0;
  let reads = 0;
  let direct = 0;
  let scratchReads = 0;
  let scratch: Uint8Array | undefined;
  const pull = (): void => {
    for (let f = src.tryNext(); f !== undefined && f !== null; f = src.tryNext()) frames.push(f);
  };
  while (pos < bytes.byteLength) {
    const target = src.readTarget();
    const n = Math.min(target.byteLength, readSize, bytes.byteLength - pos);
    target.set(bytes.subarray(pos, pos + n));
    pos += n;
    if (target.byteLength === SCRATCH_BYTES) {
      scratch ??= target;
      expect(target).toBe(scratch);
      scratchReads++;
      // Node reuses the buffer: scribble over it after the read was reported.
      src.received(n, target);
      target.fill(0xee);
    } else {
      direct++;
      src.received(n, target);
    }
    if (++reads % lag === 0) pull();
  }
  src.end();
  pull();
  expect(src.tryNext()).toBeNull();
  return { frames, direct, scratchReads };
};

describe('reads into provided memory (FrameSource.readTarget / received)', () => {
  for (const [readSize, lag] of [[SCRATCH_BYTES, 1], [SCRATCH_BYTES, 3], [1000, 1], [7, 5]] as const) {
    it(`decodes back-to-back streams read ${readSize} bytes at a time, consumer pulling every ${lag} read(s)`, () => {
      const { bytes, rows } = input();
      const { frames, direct, scratchReads } = feed(bytes, readSize, lag);
      expect(frames.map((f) => f.kind)).toEqual(['schema', 'batch', 'eos', 'schema', 'batch', 'batch', 'eos']);
      const batches = frames.filter((f): f is Extract<Frame, { kind: 'batch' }> => f.kind === 'batch');
      expect(batches.map((b) => b.batch.numRows)).toEqual(rows);
      const big = batches[1]!.batch.toRecordBatch().getChild('x')!.toArray() as Float64Array;
      expect(big[0]).toBe(0);
      expect(big[99_999]).toBe(99_999 * 0.5);
      expect([...(batches[2]!.batch.toRecordBatch().getChild('x')!.toArray() as Float64Array)]).toEqual([1.5, 2.5]);
      expect(scratchReads).toBeGreaterThan(0);
      // With a consumer that keeps up and full-size reads, most of the large body is read in place.
      if (lag === 1 && readSize === SCRATCH_BYTES) expect(direct).toBeGreaterThan(5);
    });
  }
});
