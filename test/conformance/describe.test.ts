import { readFileSync } from 'node:fs';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import * as Layer from 'effect/Layer';
import { Client, Method, RpcClientError, RpcConnection, Service, T, hashPreimage, protocolHash, type AnyService, type Dispatcher } from '../../src/index.js';
import { surfaceOf } from '../../src/protocol/method-surface.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { ConformanceService, ConformanceService89, conformanceLayer } from '../../examples/conformance/service.js';
import { SecondaryLive, SecondaryService } from '../../examples/conformance/secondary.js';
import { buildRichHeader } from '../../examples/conformance/rich-header.js';
import { cancelProbe } from '../../examples/conformance/cancel-probe.js';

const HASH_90 = '05479410c96f34410a2b10a4f6a49d59dcfd9d6d1d45ce9a9807d060a3bd6014';
const HASH_89 = '4b0269208a5a8fdeb7d8fe0f62a352713a3bfc071d7de99e5e12408c5f0b9402';
const HASH_SECONDARY = '58557cf1611546ad22d1c379bc3ce1b04166082f78375e9fc959f0086347eab6';

const surfaces = (svc: AnyService) => Object.entries(svc.methods).map(([n, m]) => surfaceOf(n, m as never));

interface PreimageMethod {
  readonly name: string;
}

/** Per-method differences between our preimage and the reference's: empty when they agree. */
const preimageDiff = (svc: AnyService, fixture: string): string[] => {
  const want = JSON.parse(readFileSync(new URL(`./fixtures/${fixture}`, import.meta.url), 'utf8')) as { protocol: string; methods: PreimageMethod[] };
  const got = JSON.parse(hashPreimage(svc.name, surfaces(svc))) as { protocol: string; methods: PreimageMethod[] };
  const diffs: string[] = [];
  if (got.protocol !== want.protocol) diffs.push(`protocol: ours ${got.protocol}, reference ${want.protocol}`);
  const ours = new Map(got.methods.map((m) => [m.name, JSON.stringify(m)]));
  const theirs = new Map(want.methods.map((m) => [m.name, JSON.stringify(m)]));
  for (const [name, m] of theirs) {
    const o = ours.get(name);
    if (o === undefined) diffs.push(`missing method ${name}`);
    else if (o !== m) diffs.push(`${name}:\n  ours      ${o}\n  reference ${m}`);
  }
  for (const name of ours.keys()) if (!theirs.has(name)) diffs.push(`extra method ${name}`);
  return diffs;
};

describe('ConformanceService description', () => {
  it('matches the 90-method reference preimage and hash', () => {
    expect(Object.keys(ConformanceService.methods)).toHaveLength(90);
    expect(ConformanceService.name).toBe('ConformanceService');
    expect(ConformanceService.version).toBe('2.0.0');
    expect(preimageDiff(ConformanceService, 'conformance-hash-preimage-90.json')).toEqual([]);
    expect(protocolHash(ConformanceService.name, surfaces(ConformanceService))).toBe(HASH_90);
  });

  it('matches the 89-method (peer era) preimage and hash', () => {
    expect(Object.keys(ConformanceService89.methods)).toHaveLength(89);
    expect(ConformanceService89.methods).not.toHaveProperty('published_string');
    expect(preimageDiff(ConformanceService89, 'conformance-hash-preimage-89.json')).toEqual([]);
    expect(protocolHash(ConformanceService89.name, surfaces(ConformanceService89))).toBe(HASH_89);
  });

  it('hashes conformance.Secondary.v1 like the reference', () => {
    expect(SecondaryService.version).toBeUndefined();
    expect(protocolHash(SecondaryService.name, surfaces(SecondaryService))).toBe(HASH_SECONDARY);
  });
});

describe('ConformanceService over the in-memory transport', () => {
  let dispatcher: Dispatcher;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ dispatcher, dispose } = await makeDispatcher([ConformanceService, SecondaryService], Layer.merge(conformanceLayer(), SecondaryLive)));
  });
  afterAll(() => dispose());

  const connect = () => {
    const conn = new RpcConnection(memoryConnect(dispatcher));
    return { conn, svc: Client.promises(ConformanceService, conn), secondary: Client.promises(SecondaryService, conn) };
  };

  const failure = async (p: Promise<unknown>): Promise<RpcClientError> => {
    const e = await p.then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(RpcClientError);
    return e as RpcClientError;
  };

  it('hosts the primary, then the secondary, then Reflection, with the reference hashes', () => {
    expect(dispatcher.hosting.names()).toEqual(['ConformanceService', 'conformance.Secondary.v1', 'vgi_rpc.Reflection.v1']);
    expect(dispatcher.hosting.bindings.get('ConformanceService')!.hash).toBe(HASH_90);
    expect(dispatcher.hosting.bindings.get('conformance.Secondary.v1')!.hash).toBe(HASH_SECONDARY);
  });

  it('echoes scalars, containers and optionals; applies defaults', async () => {
    const { svc, secondary } = connect();
    expect(await svc.echo_string({ value: 'héllo' })).toBe('héllo');
    expect(await secondary.echo_string({ value: 'x' })).toBe('secondary:x');
    expect(await svc.echo_int({ value: -(2n ** 63n) })).toBe(-(2n ** 63n));
    expect(await svc.echo_uint64({ value: 2n ** 64n - 1n })).toBe(2n ** 64n - 1n);
    expect(await svc.echo_enum({ status: 'CLOSED' })).toBe('CLOSED');
    expect(await svc.echo_list({ values: ['a', null, 'c'] })).toEqual(['a', null, 'c']);
    expect(await svc.echo_dict({ mapping: new Map([['k', 1n], ['n', null]]) })).toEqual(new Map([['k', 1n], ['n', null]]));
    expect(await svc.echo_optional_int({ value: null })).toBeNull();
    expect(await svc.echo_annotated_optional_int({})).toBeNull();
    expect(await svc.echo_decimal({ value: '-12.5' })).toBe('-12.5000');
    expect(await svc.echo_timestamp_utc({ value: 1_700_000_000_000_000n })).toBe(1_700_000_000_000_000n);
    expect(await svc.echo_dict_encoded_string({ value: 'free form' })).toBe('free form');
    expect(await svc.void_noop()).toBeUndefined();
    expect(await svc.with_defaults({ required: 7n })).toBe('required=7, optional_str=default, optional_int=42');
    expect(await svc.concatenate({ prefix: 'a', suffix: 'b' })).toBe('a-b');
    expect(await svc.add_floats({ a: 0.1, b: 0.2 })).toBe(0.1 + 0.2);
  });

  it('round-trips dataclasses', async () => {
    const { svc } = connect();
    expect(await svc.echo_optional_point({ point: null })).toBeNull();
    expect(await svc.echo_point({ point: { x: 1, y: -2.5 } })).toEqual({ x: 1, y: -2.5 });
    expect(await svc.inspect_point({ point: { x: 1, y: 1e-5 } })).toBe('Point(1.0, 1e-05)');
    const all = {
      str_field: 's', bytes_field: Uint8Array.of(1, 2), int_field: 5n, float_field: 1.5, bool_field: true,
      list_of_int: [1n, null], list_of_str: ['a'], dict_field: new Map([['a', 1n]]), enum_field: 'ACTIVE' as const,
      nested_point: { x: 1, y: 2 }, optional_str: null, optional_int: 3n, optional_nested: null,
      list_of_nested: [{ x: 3, y: 4 }], annotated_int32: -7, annotated_float32: 0.5,
      nested_list: [[1n, 2n], [], null], dict_str_str: new Map([['k', 'v']]),
    };
    expect(await svc.echo_all_types({ data: all })).toEqual(all);
    const cw = {
      list_decimal: ['1.0000', null], list_date: [19000], list_timestamp: [1n], optional_date: null,
      optional_decimal: '2.5000', optional_timestamp: null, dict_str_decimal: new Map([['d', '3.0000']]),
      frozenset_int: new Set([1n, 2n, 1n]), list_optional_int: [null, 4n],
    };
    const echoed = await svc.echo_container_wide_types({ data: cw });
    expect(echoed).toEqual(cw);
    expect([...echoed.frozenset_int]).toHaveLength(2);
    const deep = {
      list_of_lists_decimal: [['1.0000'], null], optional_list_date: null,
      dict_encoded_string: 'x', list_of_dict_encoded: ['p', 'q', 'p', null],
    };
    expect(await svc.echo_deep_nested({ data: deep })).toEqual(deep);
    const schema = new A.Schema([new A.Field('v', new A.Int32(), true)], new Map([['k', 'meta']]));
    const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 2, nullCount: 0, children: [T.int32.encode([5, 6])] }));
    const emb = await svc.echo_embedded_arrow({ data: { batch, schema } });
    expect(emb.schema.metadata.get('k')).toBe('meta');
    expect(emb.batch.getChild('v')!.toArray()).toEqual(Int32Array.of(5, 6));
    const packed = await svc.pack_nested_containers({
      statuses: ['ACTIVE', 'PENDING', 'ACTIVE'],
      points: [{ x: 1, y: 2 }],
      status_by_name: new Map([['a', 'CLOSED']]),
    });
    expect(packed.statuses).toEqual(['ACTIVE', 'PENDING', 'ACTIVE']);
    expect(packed.frozen_statuses).toEqual(new Set(['ACTIVE', 'PENDING']));
    expect(packed.tagged_status).toBe('ACTIVE');
    expect(packed.tagged_point).toEqual({ x: 1, y: 2 });
    expect(packed.status_by_name).toEqual(new Map([['a', 'CLOSED']]));
    expect(packed.tagged_batch!.getChild('value')!.toArray()).toEqual(BigInt64Array.of(1n, 2n));
  });

  it('validates enum members with the reference messages', async () => {
    // A client that sends arbitrary dictionary strings (same wire types as the real signature).
    const Raw = Service.define('ConformanceService', { version: '2.0.0' }, {
      echo_status_list: Method.unary({ params: { statuses: T.list(T.optional(T.dictionaryString)) }, result: T.list(T.optional(T.dictionaryString)) }),
    });
    const raw = Client.promises(Raw, connect().conn);
    expect(await raw.echo_status_list({ statuses: ['PENDING'] })).toEqual(['PENDING']);
    const e = await failure(raw.echo_status_list({ statuses: ['pending'] }));
    expect(e.errorType).toBe('TypeError');
    expect(e.message).toBe('statuses were not reconstructed as Status members');
  });

  it('reports errors and client logs', async () => {
    const { svc } = connect();
    const e = await failure(svc.raise_value_error({ message: 'boom' }));
    expect([e.errorType, e.message]).toEqual(['ValueError', 'boom']);
    expect((await failure(svc.raise_type_error({ message: 't' }))).errorType).toBe('TypeError');
    expect((await failure(svc.oversized_unary({ target_bytes: -1n }))).message).toBe('target_bytes must be non-negative');
    expect(await svc.oversized_unary({ target_bytes: 3n })).toEqual(new Uint8Array(3));
    const logs: string[] = [];
    const onLog = (l: { level: string; message: string; extra: unknown }) => logs.push(`${l.level}:${l.message}${l.extra ? JSON.stringify(l.extra) : ''}`);
    expect(await svc.echo_with_all_log_levels({ value: 'v' }, { onLog })).toBe('v');
    expect(await svc.echo_with_log_extras({ value: 'w' }, { onLog })).toBe('w');
    expect(logs).toEqual(['TRACE:trace: v', 'DEBUG:debug: v', 'INFO:info: v', 'WARN:warn: v', 'ERROR:error: v', 'INFO:info: w{"source":"conformance","detail":"w"}']);
    expect((await failure(svc.published_string({ value: 'x', include_sha256: false }))).message).toBe('published_string requires external storage');
    expect((await failure(svc.increment_counter({ by: 1n }))).message).toBe('no sticky counter bound to this request');
    expect((await failure(svc.open_counter({ initial: 1n }))).errorType).toBe('RuntimeError');
  });

  it('raises StatusError from conformance.Secondary.v1', async () => {
    const { secondary } = connect();
    const e = await failure(secondary.fail({ code: 'UNAVAILABLE', kind: 'busy', retry_delay_seconds: 2 }));
    expect([e.errorType, e.errorKind, e.message]).toEqual(['StatusError', 'busy', 'conformance.Secondary.v1 fail: UNAVAILABLE busy']);
    const bare = await failure(secondary.fail({ code: 'NOT_FOUND', kind: '', retry_delay_seconds: 0 }));
    expect([bare.errorKind, bare.message]).toEqual([undefined, 'conformance.Secondary.v1 fail: NOT_FOUND']);
    const bad = await failure(secondary.fail({ code: 'nope', kind: 'k', retry_delay_seconds: 0 }));
    expect([bad.errorKind, bad.message]).toEqual(['invalid_code', `'nope' is not a canonical error code`]);
    expect((await failure(secondary.fail_oversized())).errorKind).toBe('details_oversized');
  });

  it('runs producers, with headers, logs, tick metadata and per-batch metadata', async () => {
    const { svc } = connect();
    const rows = async (s: AsyncIterable<{ rows(): unknown[] }>) => {
      const out: unknown[] = [];
      for await (const b of s) out.push(...b.rows());
      return out;
    };
    expect(await rows(await svc.produce_n({ count: 3n }))).toEqual([0n, 1n, 2n].map((i) => ({ index: i, value: i * 10n })));
    expect(await rows(await svc.produce_empty())).toEqual([]);
    expect(await rows(await svc.produce_large_batches({ rows_per_batch: 2n, batch_count: 2n }))).toEqual(
      [0n, 1n, 2n, 3n].map((i) => ({ index: i, value: i * 10n })),
    );

    const rich = await svc.produce_with_rich_header({ seed: 42n, count: 1n });
    expect(rich.header).toEqual(buildRichHeader(42n));
    expect(await rows(rich)).toHaveLength(1);

    const logs: string[] = [];
    const hl = await svc.produce_with_header_and_logs({ count: 2n }, { onLog: (l) => logs.push(l.message) });
    expect(hl.header).toEqual({ total_expected: 2n, description: 'producing 2 with logs' });
    expect(logs).toEqual(['stream init log']);
    expect(await rows(hl)).toHaveLength(2);

    const tm = await svc.produce_tick_metadata({ count: 2n });
    expect((await tm.tick({ 'vgi.conformance.tick': 'first' }))!.rows()).toEqual([{ index: 0n, seen: 'first' }]);
    expect((await tm.tick())!.rows()).toEqual([{ index: 1n, seen: '' }]);
    expect(await tm.tick()).toBeNull();

    const ann = await svc.produce_annotated_batches({ count: 2n, rows_per_batch: 2n });
    const b1 = (await ann.tick())!;
    expect(b1.values('value')).toEqual([0n, 1n]);
    expect(b1.metadata.get('conformance.batch_index')).toBe('0');
    expect(b1.metadata.get('conformance.batch_total')).toBe('2');
    expect(b1.metadata.get('conformance.emit_label')).toBe('ünïcode-λ');
    await ann.close();

    const mid = await svc.produce_error_mid_stream({ emit_before_error: 1n });
    expect((await mid.tick())!.rows()).toEqual([{ index: 0n, value: 0n }]);
    expect((await failure(mid.tick())).message).toBe('intentional error after 1 batches');

    expect((await failure(rows(await svc.produce_error_on_init()))).message).toBe('intentional init error');
    expect(await svc.echo_string({ value: 'still serving' })).toBe('still serving');
  });

  it('runs exchanges', async () => {
    const { svc } = connect();
    const scale = await svc.exchange_with_header({ factor: 2 });
    expect(scale.header).toEqual({ total_expected: 0n, description: 'scale by 2.0' });
    expect((await scale.exchange({ _tag: 'columns', columns: { value: [1, null, 2.5] }, metadata: undefined })).values('value')).toEqual([2, null, 5]);
    await scale.close();

    const acc = await svc.exchange_accumulate();
    await acc.exchange({ _tag: 'rows', rows: [{ value: 1 }, { value: 2 }], metadata: undefined });
    expect((await acc.exchange({ _tag: 'rows', rows: [{ value: 4 }], metadata: undefined })).rows()).toEqual([{ running_sum: 7, exchange_count: 2n }]);
    await acc.close();

    const md = await svc.exchange_input_metadata();
    const out = await md.exchange({ _tag: 'rows', rows: [{ value: 1 }], metadata: { 'vgi.conformance.input': 'hi', 'b.key': '1' } });
    expect(out.rows()).toEqual([{ seen: 'hi', keys: 'b.key,vgi.conformance.input' }]);
    expect((await md.exchange({ _tag: 'rows', rows: [], metadata: undefined })).rows()).toEqual([{ seen: '', keys: '' }]);
    await md.close();

    const zero = await svc.exchange_zero_columns();
    expect((await zero.exchange({ _tag: 'rows', rows: [], metadata: undefined })).numRows).toBe(0);
    await zero.close();

    const nth = await svc.exchange_error_on_nth({ fail_on: 2n });
    await nth.exchange({ _tag: 'rows', rows: [{ value: 1 }], metadata: undefined });
    expect((await failure(nth.exchange({ _tag: 'rows', rows: [{ value: 1 }], metadata: undefined }))).message).toBe('intentional error on exchange 2');
  });

  it('counts cancellation in the cancel probe', async () => {
    const { svc } = connect();
    await svc.reset_cancel_probe();
    const p = await svc.cancellable_producer();
    await p.tick();
    await p.tick();
    await p.tick();
    await p.cancel();
    expect(await svc.cancel_probe_counters()).toEqual([3n, 0n, 1n]);
    await svc.reset_cancel_probe();
    const x = await svc.cancellable_exchange();
    await x.exchange({ _tag: 'rows', rows: [{ value: 1 }], metadata: undefined });
    await x.cancel();
    expect(await svc.cancel_probe_counters()).toEqual([0n, 1n, 1n]);
    expect(cancelProbe.snapshot()).toEqual([0, 1, 1]);
  });
});
