import { describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { StreamEncoder, concatBytes, encodeStream } from '../../src/wire/batch-encoder.js';
import { StreamReader, type Frame } from '../../src/wire/stream-reader.js';
import { IpcFormatError, IpcLimitError, IpcTruncatedError } from '../../src/wire/errors.js';

const sample = (): A.RecordBatch => {
  const table = A.tableFromArrays({
    i: Int32Array.from([1, 2, 3]),
    f: Float64Array.from([0.5, -1, 2e300]),
  });
  const utf8 = A.vectorFromArray(['a', null, 'héllo'], new A.Utf8());
  const big = A.vectorFromArray([1n, -2n, 9007199254740993n], new A.Int64());
  const list = A.vectorFromArray([[1, 2], [], [3]], new A.List(new A.Field('item', new A.Int32(), true)));
  const dict = A.vectorFromArray(['PENDING', 'ACTIVE', 'PENDING'], new A.Dictionary(new A.Utf8(), new A.Int16()));
  const bools = A.vectorFromArray([true, false, null], new A.Bool());
  const struct = A.vectorFromArray([{ x: 1, y: 'a' }, { x: 2, y: 'b' }, { x: 3, y: 'c' }], new A.Struct([new A.Field('x', new A.Float64(), false), new A.Field('y', new A.Utf8(), false)]));
  const t2 = new A.Table({ i: table.getChild('i')!, f: table.getChild('f')!, s: utf8, big, list, dict, bools, struct });
  return t2.batches[0]!;
};

const plain = (v: unknown): unknown => {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof A.Vector) return [...v].map(plain);
  if (v instanceof Uint8Array) return [...v];
  if (v !== null && typeof v === 'object' && 'toJSON' in v) return plain((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};
const rows = (b: A.RecordBatch): unknown => b.toArray().map(plain);

const readAll = (bytes: Uint8Array, chunk = bytes.byteLength): Frame[] => {
  const r = new StreamReader();
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.byteLength; i += chunk) {
    r.push(bytes.subarray(i, i + chunk));
    for (let f = r.read(); f; f = r.read()) frames.push(f);
  }
  r.end();
  expect(r.read()).toBeNull();
  return frames;
};

describe('IPC stream codec', () => {
  it('writes streams arrow-js reads back with metadata intact', () => {
    const batch = sample();
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(batch.schema);
    enc.writeSchema(out);
    enc.writeBatch(out, batch, new Map([['vgi_rpc.log_level', 'INFO'], ['k', 'v€']]));
    enc.writeEmpty(out, new Map([['only', 'meta']]));
    enc.writeEos(out);
    const reader = A.RecordBatchReader.from(concatBytes(out));
    const batches = [...reader];
    expect(batches).toHaveLength(2);
    expect(rows(batches[0]!)).toEqual(rows(batch));
    expect(batches[0]!.metadata.get('k')).toBe('v€');
    expect(batches[1]!.numRows).toBe(0);
    expect(batches[1]!.metadata.get('only')).toBe('meta');
  });

  it('reads what arrow-js writes, byte by byte and back-to-back', () => {
    const batch = sample();
    const one = A.tableToIPC(new A.Table([batch]), 'stream');
    const two = concatBytes([one, encodeStream(batch.schema, [batch, batch.slice(1, 3)])]);
    for (const chunk of [1, 7, two.byteLength]) {
      const frames = readAll(two, chunk);
      expect(frames.map((f) => f.kind)).toEqual(['schema', 'batch', 'eos', 'schema', 'batch', 'batch', 'eos']);
      const decoded = (frames[4] as { batch: { toRecordBatch(): A.RecordBatch } }).batch.toRecordBatch();
      expect(rows(decoded)).toEqual(rows(batch));
      const sliced = (frames[5] as { batch: { toRecordBatch(): A.RecordBatch } }).batch.toRecordBatch();
      expect(rows(sliced)).toEqual(rows(batch.slice(1, 3)));
    }
  });

  it('rejects oversized length prefixes before allocating', () => {
    const r = new StreamReader({ maxMetadataBytes: 1024, maxBodyBytes: 1 << 20 });
    r.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x7f));
    expect(() => r.read()).toThrow(IpcLimitError);
  });

  it('rejects a body over the cap', () => {
    const batch = sample();
    const bytes = encodeStream(batch.schema, [batch]);
    const r = new StreamReader({ maxMetadataBytes: 1 << 20, maxBodyBytes: 16 });
    r.push(bytes);
    expect(r.read()?.kind).toBe('schema');
    expect(() => r.read()).toThrow(IpcLimitError);
  });

  it('reports truncation and garbage as typed errors', () => {
    const batch = sample();
    const bytes = encodeStream(batch.schema, [batch]);
    const r = new StreamReader();
    r.push(bytes.subarray(0, bytes.byteLength - 20));
    r.end();
    expect(() => { for (let f = r.read(); f; f = r.read()); }).toThrow(IpcTruncatedError);
    const g = new StreamReader();
    g.push(Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
    expect(() => g.read()).toThrow(/IPC message/);
    const h = new StreamReader();
    h.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 16, 0, 0, 0, ...new Uint8Array(16).fill(0xee)));
    expect(() => h.read()).toThrow(IpcFormatError);
  });
});

describe('dictionary ids', () => {
  it('gives every dictionary field of a schema its own id', () => {
    const dictType = new A.Dictionary(new A.Utf8(), new A.Int16(), 0);
    const schema = new A.Schema([new A.Field('a', dictType, false), new A.Field('b', dictType, false)]);
    const a = A.vectorFromArray(['x', 'y'], new A.Dictionary(new A.Utf8(), new A.Int16(), 0));
    const b = A.vectorFromArray(['p', 'q'], new A.Dictionary(new A.Utf8(), new A.Int16(), 0));
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(schema);
    enc.writeSchema(out);
    enc.writeColumns(out, 2, [a.data[0]!, b.data[0]!]);
    enc.writeEos(out);
    const frames = readAll(concatBytes(out));
    const batch = (frames[1] as { batch: { toRecordBatch(): A.RecordBatch } }).batch.toRecordBatch();
    expect([...batch.getChild('a')!]).toEqual(['x', 'y']);
    expect([...batch.getChild('b')!]).toEqual(['p', 'q']);
    const viaArrow = [...A.RecordBatchReader.from(concatBytes(out))][0]!;
    expect([...viaArrow.getChild('b')!]).toEqual(['p', 'q']);
  });
});

describe('misaligned input', () => {
  it('decodes a stream whose bytes sit at an odd offset inside a Buffer', () => {
    const batch = sample();
    const bytes = encodeStream(batch.schema, [batch]);
    const holder = Buffer.alloc(bytes.byteLength + 3);
    holder.set(bytes, 3);
    const odd = holder.subarray(3);
    const frames = readAll(odd);
    const decoded = (frames[1] as { batch: { toRecordBatch(): A.RecordBatch } }).batch.toRecordBatch();
    expect(rows(decoded)).toEqual(rows(batch));
  });
});

describe('repeated record batch headers', () => {
  it('decode each batch with its own values and metadata when headers repeat, change and come back', () => {
    const schema = new A.Schema([new A.Field('x', new A.Float64(), false)]);
    const col = (xs: number[]) => A.makeData({ type: new A.Float64(), length: xs.length, nullCount: 0, data: Float64Array.from(xs) });
    const enc = new StreamEncoder(schema);
    const out: Uint8Array[] = [];
    const md = new Map([['k', 'one']]);
    enc.writeSchema(out);
    enc.writeColumns(out, 1, [col([1])], md);
    enc.writeColumns(out, 1, [col([2])], md);
    enc.writeColumns(out, 2, [col([3, 4])], md);
    enc.writeColumns(out, 1, [col([5])], new Map([['k', 'two']]));
    enc.writeColumns(out, 1, [col([6])], md);
    enc.writeEos(out);
    const frames = readAll(concatBytes(out), 5);
    const batches = frames.filter((f): f is Extract<Frame, { kind: 'batch' }> => f.kind === 'batch').map((f) => f.batch);
    expect(batches.map((b) => [...(b.toRecordBatch().getChild('x')!.toArray() as Float64Array)])).toEqual([[1], [2], [3, 4], [5], [6]]);
    expect(batches.map((b) => b.meta('k'))).toEqual(['one', 'one', 'one', 'two', 'one']);
  });
});
