import { describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { T } from '../../src/index.js';
import { typeToken } from '../../src/types/type-tokens.js';
import { StreamEncoder, concatBytes } from '../../src/wire/batch-encoder.js';
import { decodeOneStream } from '../../src/wire/stream-reader.js';
import type { ValueType } from '../../src/types/value-type.js';

const Point = T.record('Point', { x: T.float64, y: T.float64 });
const Status = T.enumOf('Status', ['PENDING', 'ACTIVE', 'CLOSED']);

/** Encode values in a one-column batch, send it through IPC bytes, decode every row. */
const roundTrip = <V>(t: ValueType<V>, values: V[]): V[] => {
  const schema = new A.Schema([new A.Field('v', t.arrowType, t.nullable)]);
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  enc.writeColumns(out, values.length, [t.encode(values)]);
  enc.writeEos(out);
  const { batches } = decodeOneStream(concatBytes(out));
  const col = batches[0]!.columns[0]!;
  return values.map((_, i) => (t.nullable ? T.optional(t).decode(col, i) : t.decode(col, i)) as V);
};

describe('value types: Arrow types as the reference maps them', () => {
  const cases: [string, ValueType<any>, string][] = [
    ['utf8', T.utf8, 'utf8'], ['binary', T.binary, 'binary'], ['int8', T.int8, 'int8'], ['int16', T.int16, 'int16'],
    ['int32', T.int32, 'int32'], ['int64', T.int64, 'int64'], ['uint8', T.uint8, 'uint8'], ['uint16', T.uint16, 'uint16'],
    ['uint32', T.uint32, 'uint32'], ['uint64', T.uint64, 'uint64'], ['float32', T.float32, 'float32'], ['float64', T.float64, 'float64'],
    ['bool', T.bool, 'bool'], ['list', T.list(T.utf8), 'list<item?:utf8>'], ['map', T.map(T.utf8, T.int64), 'map<key:utf8,value?:int64>'],
    ['enum', Status, 'dictionary<index:int16,value:utf8>'], ['record (top level)', Point, 'binary'],
    ['list of records', T.list(Point), 'list<item?:struct<x:float64,y:float64>>'], ['date32', T.date32, 'date32'],
    ['timestamp', T.timestampUs, 'timestamp(us)'], ['timestamp UTC', T.timestampUsTz('UTC'), 'timestamp(us,tz=UTC)'],
    ['time64', T.time64Us, 'time64(us)'], ['duration', T.durationUs, 'duration(us)'], ['decimal', T.decimal128(20, 4), 'decimal128(20,4)'],
    ['large_utf8', T.largeUtf8, 'large_utf8'], ['large_binary', T.largeBinary, 'large_binary'], ['fixed', T.fixedSizeBinary(8), 'fixed_size_binary(8)'],
    ['dictionary string', T.dictionaryString, 'dictionary<index:int16,value:utf8>'],
  ];
  for (const [name, t, token] of cases) it(name, () => expect(typeToken(t.arrowType)).toBe(token));
  it('optional is nullable, others are not', () => {
    expect(T.optional(T.utf8).nullable).toBe(true);
    expect(T.utf8.nullable).toBe(false);
  });
});

describe('value types round-trip through IPC', () => {
  it('scalars at their boundaries', () => {
    expect(roundTrip(T.int64, [-(2n ** 63n), 0n, 2n ** 63n - 1n])).toEqual([-(2n ** 63n), 0n, 2n ** 63n - 1n]);
    expect(roundTrip(T.uint64, [0n, 2n ** 64n - 1n])).toEqual([0n, 2n ** 64n - 1n]);
    expect(roundTrip(T.int8, [-128, 127])).toEqual([-128, 127]);
    expect(roundTrip(T.uint32, [0, 4294967295])).toEqual([0, 4294967295]);
    expect(roundTrip(T.float64, [Number.MAX_VALUE, -0, Number.NEGATIVE_INFINITY])).toEqual([Number.MAX_VALUE, -0, Number.NEGATIVE_INFINITY]);
    expect(Number.isNaN(roundTrip(T.float64, [Number.NaN])[0])).toBe(true);
    expect(roundTrip(T.float32, [1.5, -2.25])).toEqual([1.5, -2.25]);
    expect(roundTrip(T.bool, [true, false, true])).toEqual([true, false, true]);
    expect(roundTrip(T.utf8, ['', 'héllo', '日本語 🎉'])).toEqual(['', 'héllo', '日本語 🎉']);
    expect(roundTrip(T.binary, [new Uint8Array(0), Uint8Array.of(0, 255)])).toEqual([new Uint8Array(0), Uint8Array.of(0, 255)]);
  });

  it('containers, enums, records and optional values', () => {
    expect(roundTrip(T.list(T.list(T.int64)), [[[1n, 2n], []], []])).toEqual([[[1n, 2n], []], []]);
    expect(roundTrip(T.map(T.utf8, T.int64), [new Map([['a', 1n], ['b', 2n]]), new Map()])).toEqual([new Map([['a', 1n], ['b', 2n]]), new Map()]);
    expect(roundTrip(Status, ['ACTIVE', 'PENDING', 'CLOSED'])).toEqual(['ACTIVE', 'PENDING', 'CLOSED']);
    expect(roundTrip(Point, [{ x: 1.5, y: -2 }])).toEqual([{ x: 1.5, y: -2 }]);
    expect(roundTrip(T.list(Point), [[{ x: 1, y: 2 }, { x: 3, y: 4 }]])).toEqual([[{ x: 1, y: 2 }, { x: 3, y: 4 }]]);
    expect(roundTrip(T.optional(T.utf8), ['a', null, 'c'])).toEqual(['a', null, 'c']);
    expect(roundTrip(T.optional(T.int64), [null, 5n])).toEqual([null, 5n]);
    const Nested = T.record('Box', { name: T.utf8, corners: T.list(Point), status: Status, tag: T.optional(T.utf8) });
    const box = { name: 'b', corners: [{ x: 0, y: 0 }, { x: 1, y: 1 }], status: 'CLOSED' as const, tag: null };
    expect(roundTrip(Nested, [box])).toEqual([box]);
  });

  it('temporal, decimal, wide and dictionary types', () => {
    expect(roundTrip(T.date32, [19000, -1])).toEqual([19000, -1]);
    expect(roundTrip(T.timestampUsTz('UTC'), [1_700_000_000_123_456n])).toEqual([1_700_000_000_123_456n]);
    expect(roundTrip(T.time64Us, [86_399_999_999n])).toEqual([86_399_999_999n]);
    expect(roundTrip(T.durationUs, [-5n])).toEqual([-5n]);
    expect(roundTrip(T.decimal128(20, 4), ['1234567890123456.7890', '-0.0001', '0'])).toEqual(['1234567890123456.7890', '-0.0001', '0.0000']);
    expect(roundTrip(T.largeUtf8, ['big'])).toEqual(['big']);
    expect(roundTrip(T.largeBinary, [Uint8Array.of(9)])).toEqual([Uint8Array.of(9)]);
    expect(roundTrip(T.fixedSizeBinary(4), [Uint8Array.of(1, 2, 3, 4)])).toEqual([Uint8Array.of(1, 2, 3, 4)]);
    expect(roundTrip(T.dictionaryString, ['x', 'y', 'x'])).toEqual(['x', 'y', 'x']);
  });

  it('embedded RecordBatch and Schema values', () => {
    const batch = A.tableFromArrays({ a: Int32Array.of(1, 2) }).batches[0]!;
    const [got] = roundTrip(T.recordBatchValue, [batch]);
    expect([...got!.getChild('a')!]).toEqual([1, 2]);
    const schema = new A.Schema([new A.Field('q', new A.Utf8(), true)]);
    expect(roundTrip(T.schemaValue, [schema])[0]!.fields.map((f) => f.name)).toEqual(['q']);
  });

  it('rejects values of the wrong shape with a TypeError', () => {
    expect(() => T.int64.encode([1.5 as unknown as bigint])).toThrow(TypeError);
    expect(() => T.int8.encode([300])).toThrow(TypeError);
    expect(() => Status.encode(['NOPE' as 'ACTIVE'])).toThrow(TypeError);
    expect(() => T.decimal128(5, 2).encode(['1.234'])).toThrow(TypeError);
    expect(() => T.fixedSizeBinary(2).encode([Uint8Array.of(1)])).toThrow(TypeError);
  });

  it('takes a number for a 64-bit integer only when it is a safe integer', () => {
    expect(roundTrip(T.int64, [-(2 ** 53 - 1), 42, 2 ** 53 - 1] as unknown as bigint[])).toEqual([-(2n ** 53n - 1n), 42n, 2n ** 53n - 1n]);
    expect(roundTrip(T.uint64, [7] as unknown as bigint[])).toEqual([7n]);
    expect(() => T.int64.encode([2 ** 53 as unknown as bigint])).toThrow(/beyond 2\^53 - 1.*pass a bigint/);
    expect(() => T.uint64.encode([-(2 ** 60) as unknown as bigint])).toThrow(TypeError);
    expect(() => T.int64.encode([Number.NaN as unknown as bigint])).toThrow(TypeError);
  });
});

describe('dictionary-encoded fields', () => {
  it('two different enums in one record get their own dictionaries', () => {
    const Color = T.enumOf('Color', ['RED', 'GREEN']);
    const Both = T.record('Both', { status: Status, color: Color, label: T.dictionaryString });
    const value = { status: 'CLOSED' as const, color: 'GREEN' as const, label: 'x' };
    expect(Both.fromIpc(Both.toIpc(value))).toEqual(value);
    expect(roundTrip(T.list(Both.struct), [[value, { status: 'PENDING', color: 'RED', label: 'y' }]])).toEqual([[value, { status: 'PENDING', color: 'RED', label: 'y' }]]);
  });
});
