import { describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { StreamEncoder, concatBytes } from '../../src/wire/batch-encoder.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { SHM_DEFAULT_MIN_BATCH_BYTES, SHM_STREAM_OVERHEAD, ShmChannel, isShmPointer, parseMinBatchBytes, pointerMetadata } from '../../src/wire/shm-pointer.js';
import { SHM_HEADER_SIZE, ShmSegmentError, initSegmentHeader } from '../../src/wire/shm-segment.js';
import { type DecodedBatch, StreamReader } from '../../src/wire/stream-reader.js';
import { classifyBatch } from '../../src/wire/classify.js';

/** The reference's _TEST_SCHEMA {x: int64, y: float64} and _make_batch(n). */
const testBatch = (n = 5): A.RecordBatch => {
  const x = A.vectorFromArray(Array.from({ length: n }, (_, i) => BigInt(i)), new A.Int64());
  const y = A.vectorFromArray(Array.from({ length: n }, (_, i) => i), new A.Float64());
  return new A.Table({ x, y }).batches[0]!;
};

const channel = (size: number, minBatchBytes = 0) => {
  const bytes = new Uint8Array(size);
  initSegmentHeader(bytes);
  return new ShmChannel({ name: 'psm_test', bytes }, minBatchBytes);
};

/** Write `batch` through `ch` onto a stream, then read that stream back: the batch that travelled on the byte stream. */
const travel = (ch: ShmChannel, batch: A.RecordBatch, metadata?: ReadonlyMap<string, string>) => {
  const enc = new StreamEncoder(batch.schema);
  const out: Uint8Array[] = [];
  enc.writeSchema(out);
  const region = ch.writeBatch(enc, out, batch.numRows, batch.data.children, metadata);
  enc.writeEos(out);
  const r = new StreamReader();
  r.push(concatBytes(out));
  r.end();
  let sent: DecodedBatch | undefined;
  for (let f = r.read(); f; f = r.read()) if (f.kind === 'batch') sent = f.batch;
  return { region, sent: sent! };
};

const values = (b: DecodedBatch) => b.toRecordBatch().toArray().map((row) => ({ ...row.toJSON() }));

describe('pointer classification (TestPointerBatchHelpers)', () => {
  const md = (o: Record<string, string>) => new Map(Object.entries(o));
  it('a zero-row batch with shm_offset is a pointer', () => {
    expect(isShmPointer(0, md({ [Keys.shmOffset]: '0', [Keys.shmLength]: '100' }))).toBe(true);
  });
  it('a batch with rows is not', () => {
    expect(isShmPointer(5, md({ [Keys.shmOffset]: '0', [Keys.shmLength]: '100' }))).toBe(false);
  });
  it('no metadata is not', () => {
    expect(isShmPointer(0, undefined)).toBe(false);
    expect(isShmPointer(0, md({}))).toBe(false);
  });
  it('a log batch is excluded even with shm_offset', () => {
    const log = md({ [Keys.shmOffset]: '0', [Keys.logLevel]: 'INFO', [Keys.logMessage]: 'test' });
    expect(isShmPointer(0, log)).toBe(false);
    expect(classifyBatch(0, log)).toBe('log');
  });
  it('make pointer metadata: decimal strings merged after the batch metadata', () => {
    expect([...pointerMetadata(md({ custom_key: 'custom_val' }), 4096, 500)]).toEqual([
      ['custom_key', 'custom_val'],
      [Keys.shmOffset, '4096'],
      [Keys.shmLength, '500'],
    ]);
  });
});

describe('a pointer batch on the wire (test_make_pointer_batch)', () => {
  it('is a 0-row batch on the original schema with offset "4096" and length "500", and an empty body', () => {
    const schema = testBatch(1).schema;
    const enc = new StreamEncoder(schema);
    const out: Uint8Array[] = [];
    enc.writeSchema(out);
    enc.writeEmpty(out, pointerMetadata(undefined, 4096, 500));
    enc.writeEos(out);
    const bytes = concatBytes(out);
    const r = new StreamReader();
    r.push(bytes);
    r.end();
    const frames = [];
    for (let f = r.read(); f; f = r.read()) frames.push(f);
    const batch = frames.find((f) => f.kind === 'batch')!.batch;
    expect(batch.numRows).toBe(0);
    expect(batch.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['x:Int64', 'y:Float64']);
    expect(batch.meta(Keys.shmOffset)).toBe('4096');
    expect(batch.meta(Keys.shmLength)).toBe('500');
    expect(isShmPointer(batch.numRows, batch.metadata)).toBe(true);
    // Read independently: the record batch message is the second; its body length (Message.bodyLength) is 0,
    // so the stream is schema message, batch message header, EOS and nothing else.
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const schemaLen = dv.getInt32(4, true);
    const batchAt = 8 + schemaLen;
    expect(dv.getUint32(batchAt, true)).toBe(0xffffffff);
    const batchLen = dv.getInt32(batchAt + 4, true);
    expect(batchAt + 8 + batchLen + 8).toBe(bytes.byteLength);
    expect([...bytes.subarray(bytes.byteLength - 8)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  });
});

describe('writing and resolving pointers (TestShmSegment, TestMaybeWriteToShm)', () => {
  it('a batch that fits becomes a 0-row pointer on the original schema and resolves to the original', () => {
    const ch = channel(1024 * 1024);
    const original = testBatch(10);
    const { region, sent } = travel(ch, original);
    expect(region).toBeDefined();
    expect(sent.numRows).toBe(0);
    expect(sent.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([['x', 'Int64'], ['y', 'Float64']]);
    expect(sent.meta(Keys.shmOffset)).toBe(String(region!.offset));
    expect(sent.meta(Keys.shmLength)).toBe(String(region!.length));
    expect(classifyBatch(sent.numRows, sent.metadata)).toBe('shmPointer');
    const resolved = ch.resolve(sent);
    expect(values(resolved.batch)).toEqual(original.toArray().map((r) => ({ ...r.toJSON() })));
    expect(resolved.batch.meta(Keys.shmSource)).toBe('psm_test');
    expect(resolved.batch.meta(Keys.shmOffset)).toBeUndefined();
    expect(resolved.batch.meta(Keys.shmLength)).toBeUndefined();
    expect(ch.allocator.numAllocs).toBe(1);
    resolved.release();
    expect(ch.allocator.allocations()).toEqual([]);
    resolved.release(); // once only
  });

  it('the region holds a whole IPC stream in an allocation of the batch message + 4096', () => {
    const ch = channel(1024 * 1024);
    const original = testBatch(10);
    const { region } = travel(ch, original);
    const [[offset, reserved]] = ch.allocator.allocations() as [[number, number]];
    expect(offset).toBe(SHM_HEADER_SIZE);
    const bytes = ch.segment.bytes.subarray(offset, offset + region!.length);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Independent walk of the encapsulated messages: continuation, length, header, body.
    const msgs: number[] = [];
    let at = 0;
    for (;;) {
      expect(dv.getUint32(at, true)).toBe(0xffffffff);
      const len = dv.getInt32(at + 4, true);
      if (len === 0) {
        at += 8;
        break;
      }
      // body length is the flatbuffer Message.bodyLength; take it from our own encoding of the same batch
      msgs.push(len);
      at += 8 + len;
      if (msgs.length === 2) at += 10 * 8 + 10 * 8; // x: 10 int64, y: 10 float64, no validity
    }
    expect(at).toBe(region!.length);
    expect(msgs.length).toBe(2); // schema, record batch
    const batchMessage = 8 + msgs[1]! + 160;
    expect(reserved).toBe(batchMessage + SHM_STREAM_OVERHEAD);
  });

  it('zero-row batches are never written to the segment', () => {
    const ch = channel(128 * 1024);
    const { region, sent } = travel(ch, testBatch(0));
    expect(region).toBeUndefined();
    expect(sent.meta(Keys.shmOffset)).toBeUndefined();
    expect(ch.allocator.numAllocs).toBe(0);
  });

  it('a batch too large for the segment is sent inline', () => {
    const ch = channel(SHM_HEADER_SIZE + 64);
    const { region, sent } = travel(ch, testBatch(1000));
    expect(region).toBeUndefined();
    expect(sent.numRows).toBe(1000);
    expect(sent.metadata).toBeUndefined();
  });

  it('existing metadata is kept on the pointer and on the resolved batch', () => {
    const ch = channel(1024 * 1024);
    const { sent } = travel(ch, testBatch(5), new Map([['custom_key', 'custom_val']]));
    expect(sent.numRows).toBe(0);
    expect(sent.meta('custom_key')).toBe('custom_val');
    expect(sent.meta(Keys.shmOffset)).toBeDefined();
    expect([...ch.resolve(sent).batch.metadata!]).toEqual([['custom_key', 'custom_val'], [Keys.shmSource, 'psm_test']]);
  });

  it('batches below the threshold stay inline; at the threshold they go to the segment', () => {
    const ch = channel(1024 * 1024, 16 * 10 + 1);
    expect(travel(ch, testBatch(10)).region).toBeUndefined(); // body 160 bytes
    const at = channel(1024 * 1024, 160);
    expect(travel(at, testBatch(10)).region).toBeDefined();
  });

  it('dictionary batches store only their dictionary and batch messages and resolve with the pointer schema', () => {
    const ch = channel(1024 * 1024);
    const labels = A.vectorFromArray(['item_0', 'item_1', 'item_0'], new A.Dictionary(new A.Utf8(), new A.Int32()));
    const batch = new A.Table({ label: labels }).batches[0]!;
    const { region, sent } = travel(ch, batch);
    const bytes = ch.segment.bytes.subarray(region!.offset, region!.offset + region!.length);
    // No schema message first, no EOS last: a dictionary batch message (header type 2) leads.
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)).toBe(0xffffffff);
    expect([...bytes.subarray(bytes.byteLength - 8)]).not.toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    // The allocation is exactly what was written.
    expect(ch.allocator.allocations()).toEqual([[region!.offset, region!.length]]);
    const resolved = ch.resolve(sent);
    expect([...resolved.batch.toRecordBatch().getChild('label')!]).toEqual(['item_0', 'item_1', 'item_0']);
  });

  it('resolving without a copy decodes over the region (plain and dictionary layouts); by default the columns are a private copy', () => {
    const ch = channel(1024 * 1024);
    const segmentBuffer = ch.segment.bytes.buffer;
    const original = testBatch(1000);
    const plain = travel(ch, original);
    const copied = ch.resolve(plain.sent);
    const viewed = ch.resolve(plain.sent, { copy: false });
    expect(copied.batch.columns[0]!.values.buffer).not.toBe(segmentBuffer);
    expect(viewed.batch.columns[0]!.values.buffer).toBe(segmentBuffer);
    expect(values(viewed.batch)).toEqual(values(copied.batch));
    expect(viewed.length).toBe(plain.region!.length);
    // The view sees what the segment holds: a writer reusing the region would change it (why it lives only until release).
    const x = viewed.batch.columns[0]!.values as BigInt64Array;
    const at = x.byteOffset;
    new DataView(segmentBuffer).setBigInt64(at, 42n, true);
    expect(x[0]).toBe(42n);
    expect((copied.batch.columns[0]!.values as BigInt64Array)[0]).toBe(0n);
    viewed.release();
    expect(ch.allocator.allocations()).toEqual([]);
    const labels = A.vectorFromArray(['a', 'b', 'a'], new A.Dictionary(new A.Utf8(), new A.Int32()));
    const dict = travel(ch, new A.Table({ label: labels }).batches[0]!);
    const dictViewed = ch.resolve(dict.sent, { copy: false });
    expect(dictViewed.batch.columns[0]!.values.buffer).toBe(segmentBuffer);
    expect([...dictViewed.batch.toRecordBatch().getChild('label')!]).toEqual(['a', 'b', 'a']);
  });

  it('a pointer outside the segment, or malformed, fails with a typed error', () => {
    const ch = channel(SHM_HEADER_SIZE + 4096);
    const { sent } = travel(ch, testBatch(5));
    const bad = (offset: string, length: string) => {
      const md = new Map(sent.metadata!);
      md.set(Keys.shmOffset, offset);
      md.set(Keys.shmLength, length);
      return { ...sent, metadata: md, numRows: 0, schema: sent.schema, badUtf8Keys: [] } as unknown as DecodedBatch;
    };
    expect(() => ch.resolve(bad('999999999', '10'))).toThrow(ShmSegmentError);
    expect(() => ch.resolve(bad('12', '10'))).toThrow(/outside the data region/);
    expect(() => ch.resolve(bad('-1', '10'))).toThrow(/malformed/);
    expect(() => ch.resolve(bad(String(SHM_HEADER_SIZE + 2048), '100'))).toThrow(/does not hold an Arrow IPC batch/);
  });

  it('VGI_RPC_SHM_MIN_BATCH_BYTES parsing keeps the default on bad values', () => {
    expect(SHM_DEFAULT_MIN_BATCH_BYTES).toBe(131072);
    expect(parseMinBatchBytes(undefined)).toBe(131072);
    expect(parseMinBatchBytes('')).toBe(131072);
    expect(parseMinBatchBytes('4096')).toBe(4096);
    expect(parseMinBatchBytes(' 0 ')).toBe(0);
    expect(parseMinBatchBytes('lots')).toBe(131072);
  });
});
