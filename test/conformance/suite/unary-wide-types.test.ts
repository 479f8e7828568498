/**
 * Port of TestUnaryWideTypes (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 *
 * Python values map to this runtime's values as: date → days since the
 * epoch (number), datetime → microseconds since the epoch (bigint; the
 * zone lives in the Arrow type), time → microseconds since midnight
 * (bigint), timedelta → microseconds (bigint), Decimal → a string with
 * exactly `scale` fraction digits, frozenset → Set.
 */
import { expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { T } from '../../../src/index.js';
import { overTransports } from '../harness.js';
import { ConformanceService } from '../../../examples/conformance/service.js';
import { date32, fieldsOf, rawCall, time64Us, timestampUs } from './protocol-support.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const repeat = (pattern: number[], times: number): Uint8Array => Uint8Array.from({ length: pattern.length * times }, (_, i) => pattern[i % pattern.length]!);

overTransports('TestUnaryWideTypes', (get) => {
  it('test_echo_int8', async () => {
    const { svc } = await get();
    expect(await svc.echo_int8({ value: -128 })).toBe(-128);
    expect(await svc.echo_int8({ value: 127 })).toBe(127);
  });

  it('test_echo_int16', async () => {
    const { svc } = await get();
    expect(await svc.echo_int16({ value: -32768 })).toBe(-32768);
    expect(await svc.echo_int16({ value: 32767 })).toBe(32767);
  });

  it('test_echo_uint8', async () => {
    const { svc } = await get();
    expect(await svc.echo_uint8({ value: 0 })).toBe(0);
    expect(await svc.echo_uint8({ value: 255 })).toBe(255);
  });

  it('test_echo_uint16', async () => {
    const { svc } = await get();
    expect(await svc.echo_uint16({ value: 65535 })).toBe(65535);
  });

  it('test_echo_uint32', async () => {
    const { svc } = await get();
    expect(await svc.echo_uint32({ value: 4_294_967_295 })).toBe(4_294_967_295);
  });

  it('test_echo_uint64_above_int64_max', async () => {
    const { svc } = await get();
    const big = 18_000_000_000_000_000_000n;
    expect(await svc.echo_uint64({ value: big })).toBe(big);
  });

  it('test_echo_date', async () => {
    const { svc } = await get();
    const d = date32(2026, 4, 25);
    expect(await svc.echo_date({ value: d })).toBe(d);
  });

  it('test_echo_timestamp', async () => {
    const { svc } = await get();
    const t = timestampUs(2026, 4, 25, 12, 0, 0, 123456);
    expect(await svc.echo_timestamp({ value: t })).toBe(t);
  });

  it('test_echo_timestamp_utc', async () => {
    const { svc, transport } = await get();
    const t = timestampUs(2026, 4, 25, 12, 0, 0, 123456);
    const result = await svc.echo_timestamp_utc({ value: t });
    expect(result).toBe(t);
    // `result.tzinfo is not None`: the zone travels in the Arrow type of the response's result column.
    const raw = await rawCall(transport, ConformanceService, 'echo_timestamp_utc', { value: t });
    const type = raw.schema.fields[0]!.type as A.TimestampMicrosecond;
    expect(type.timezone).toBe('UTC');
  });

  it('test_echo_time', async () => {
    const { svc } = await get();
    const t = time64Us(12, 30, 45, 123456);
    expect(await svc.echo_time({ value: t })).toBe(t);
  });

  it('test_echo_duration', async () => {
    const { svc } = await get();
    const d = 10_000_500n; // timedelta(seconds=10, microseconds=500)
    expect(await svc.echo_duration({ value: d })).toBe(d);
  });

  it('test_echo_decimal', async () => {
    const { svc } = await get();
    expect(await svc.echo_decimal({ value: '12345.6789' })).toBe('12345.6789');
  });

  it('test_echo_decimal_negative', async () => {
    const { svc } = await get();
    expect(await svc.echo_decimal({ value: '-99999999999999.9999' })).toBe('-99999999999999.9999');
  });

  it('test_echo_large_string', async () => {
    const { svc } = await get();
    const s = 'wide'.repeat(1000);
    expect(await svc.echo_large_string({ value: s })).toBe(s);
  });

  it('test_echo_large_binary', async () => {
    const { svc } = await get();
    const b = repeat([0, 1, 2, 3], 1000);
    expect(await svc.echo_large_binary({ value: b })).toEqual(b);
  });

  it('test_echo_fixed_binary', async () => {
    const { svc } = await get();
    expect(await svc.echo_fixed_binary({ value: bytes('12345678') })).toEqual(bytes('12345678'));
  });

  it('test_echo_container_wide_types', async () => {
    const { svc } = await get();
    const c = {
      list_decimal: ['1.0000', '2.5000', '-3.7500'],
      list_date: [date32(2026, 1, 1), date32(2026, 4, 25)],
      list_timestamp: [timestampUs(2026, 1, 1), timestampUs(2026, 4, 25, 12, 0, 0, 123456)],
      optional_date: null,
      optional_decimal: '99.0000',
      optional_timestamp: null,
      dict_str_decimal: new Map([['a', '1.5000'], ['b', '2.5000']]),
      frozenset_int: new Set([1n, 2n, 3n]),
      list_optional_int: [1n, null, 3n, null, 5n],
    };
    const result = await svc.echo_container_wide_types({ data: c });
    expect(result).toEqual(c);
    expect(result.optional_date).toBeNull();
    expect(result.optional_timestamp).toBeNull();
    expect(result.list_optional_int).toContain(null);
  });

  it('test_echo_container_wide_types_all_present', async () => {
    const { svc } = await get();
    const c = {
      list_decimal: ['0.0001'],
      list_date: [date32(1970, 1, 1)],
      list_timestamp: [timestampUs(1970, 1, 1)],
      optional_date: date32(2026, 4, 25),
      optional_decimal: '-12345.6789',
      optional_timestamp: timestampUs(2026, 4, 25, 12, 0, 0, 123456),
      dict_str_decimal: new Map<string, string | null>(),
      frozenset_int: new Set<bigint | null>(),
      list_optional_int: [],
    };
    expect(await svc.echo_container_wide_types({ data: c })).toEqual(c);
  });

  it('test_echo_deep_nested', async () => {
    const { svc } = await get();
    const d = {
      list_of_lists_decimal: [['1.0000', '2.0000'], ['3.5000'], []],
      optional_list_date: [date32(2026, 1, 1), date32(2026, 4, 25)],
      dict_encoded_string: 'hello',
      list_of_dict_encoded: ['a', 'b', 'a', 'c', 'a'],
    };
    expect(await svc.echo_deep_nested({ data: d })).toEqual(d);
  });

  it('test_echo_deep_nested_empty_and_none', async () => {
    const { svc } = await get();
    const d = { list_of_lists_decimal: [], optional_list_date: null, dict_encoded_string: '', list_of_dict_encoded: [] };
    const result = await svc.echo_deep_nested({ data: d });
    expect(result).toEqual(d);
    expect(result.optional_list_date).toBeNull();
    expect(result.dict_encoded_string).toBe('');
  });

  it('test_echo_dict_encoded_string', async () => {
    const { svc } = await get();
    expect(await svc.echo_dict_encoded_string({ value: 'hello' })).toBe('hello');
    expect(await svc.echo_dict_encoded_string({ value: '' })).toBe('');
    expect(await svc.echo_dict_encoded_string({ value: '🌍'.repeat(100) })).toBe('🌍'.repeat(100));
  });

  it('test_echo_large_string_empty', async () => {
    const { svc } = await get();
    expect(await svc.echo_large_string({ value: '' })).toBe('');
  });

  it('test_echo_large_binary_empty', async () => {
    const { svc } = await get();
    expect(await svc.echo_large_binary({ value: new Uint8Array(0) })).toEqual(new Uint8Array(0));
  });

  it('test_echo_fixed_binary_zero_bytes', async () => {
    const { svc } = await get();
    expect(await svc.echo_fixed_binary({ value: new Uint8Array(8) })).toEqual(new Uint8Array(8));
  });

  it('test_echo_embedded_arrow', async () => {
    const { svc } = await get();
    // pa.RecordBatch.from_pydict({"a": [1, 2, 3], "b": ["x", "y", "z"]}): nullable int64 and utf8.
    const batchSchema = new A.Schema([new A.Field('a', new A.Int64(), true), new A.Field('b', new A.Utf8(), true)]);
    const batch = new A.RecordBatch(
      batchSchema,
      A.makeData({ type: new A.Struct(batchSchema.fields), length: 3, nullCount: 0, children: [T.int64.encode([1n, 2n, 3n]), T.utf8.encode(['x', 'y', 'z'])] }),
    );
    // pa.schema([pa.field("x", pa.int32()), pa.field("y", pa.string())]).
    const schema = new A.Schema([new A.Field('x', new A.Int32(), true), new A.Field('y', new A.Utf8(), true)]);
    const result = await svc.echo_embedded_arrow({ data: { batch, schema } });
    // result.batch.equals(batch)
    expect(fieldsOf(result.batch.schema)).toEqual(fieldsOf(batchSchema));
    expect(result.batch.numRows).toBe(3);
    expect([...result.batch.getChild('a')!]).toEqual([1n, 2n, 3n]);
    expect([...result.batch.getChild('b')!]).toEqual(['x', 'y', 'z']);
    // result.schema.equals(schema)
    expect(fieldsOf(result.schema)).toEqual(fieldsOf(schema));
  });

  it('test_echo_wide_types_dataclass', async () => {
    const { svc } = await get();
    const w = {
      int8_field: -12,
      int16_field: -30000,
      int32_field: 2_000_000_000,
      uint8_field: 200,
      uint16_field: 60000,
      uint32_field: 4_000_000_000,
      uint64_field: 18_000_000_000_000_000_000n,
      float32_field: 1.5,
      date_field: date32(2026, 4, 25),
      timestamp_field: timestampUs(2026, 4, 25, 12, 0, 0, 123456),
      timestamp_utc_field: timestampUs(2026, 4, 25, 12, 0, 0, 123456),
      time_field: time64Us(12, 30, 45, 123456),
      duration_field: 10_000_500n,
      decimal_field: '12345.6789',
      large_string_field: 'wide string',
      large_binary_field: bytes('wide bytes'),
      fixed_binary_field: bytes('12345678'),
    };
    expect(await svc.echo_wide_types({ data: w })).toEqual(w);
  });
});
