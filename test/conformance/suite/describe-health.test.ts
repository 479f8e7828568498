/**
 * Port of TestDescribeConformance and TestHealth
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 *
 * `conformance_describe` is now obtained through `vgi_rpc.Reflection.v1`
 * (`describe("ConformanceService")`) on every transport, as the reference's
 * harness does. `run_describe_conformance` is the reference runner's
 * describe catalog (vgi_rpc/conformance/_runner.py; newest readable copy is
 * 0.42.3 @ 6a25665), brought to the newest generation: 90 methods,
 * protocol_version 2.0.0, `stream_kind` instead of `is_exchange` and schemas
 * as IPC bytes. Its `describe_service.describe_version` check stays, as in
 * the reference: Reflection carries no describe version, so the reference's
 * client view (`introspect._adapt_description`, Reflection era) stamps its
 * own `DESCRIBE_VERSION`, pinned at "5", and the check compares that field
 * with the constant. The fixture below does the same; no server can change
 * the outcome.
 */
import { expect, it } from 'vitest';
import type * as A from 'apache-arrow';
import { Client, Reflection } from '../../../src/index.js';
import { decodeOneStream } from '../../../src/wire/stream-reader.js';
import { type ConformanceTransport, overTransports } from '../harness.js';

/** The 90-method ConformanceService digest (reference golden `describe_conformance.txt` @ 25ee0d6). */
const CONFORMANCE_HASH_90 = '05479410c96f34410a2b10a4f6a49d59dcfd9d6d1d45ce9a9807d060a3bd6014';

const UNARY_METHODS = new Set([
  'add_floats', 'cancel_probe_counters', 'concatenate', 'echo_all_types', 'echo_bool', 'echo_bounding_box', 'echo_bytes',
  'echo_date', 'echo_decimal', 'echo_dict', 'echo_duration', 'echo_enum', 'echo_fixed_binary', 'echo_float', 'echo_float32',
  'echo_int', 'echo_int16', 'echo_int32', 'echo_int8', 'echo_large_binary', 'echo_large_string', 'echo_list',
  'echo_nested_list', 'echo_optional_int', 'echo_optional_string', 'echo_point', 'echo_string', 'echo_time', 'echo_timestamp',
  'echo_timestamp_utc', 'echo_uint16', 'echo_uint32', 'echo_uint64', 'echo_uint8', 'echo_container_wide_types',
  'echo_deep_nested', 'echo_dict_encoded_string', 'echo_embedded_arrow', 'echo_wide_types', 'echo_with_all_log_levels',
  'echo_with_info_log', 'echo_with_log_extras', 'echo_with_multi_logs', 'inspect_point', 'oversized_unary',
  'raise_runtime_error', 'raise_type_error', 'raise_value_error', 'reset_cancel_probe', 'void_noop', 'void_with_param',
  'with_defaults', 'close_counter', 'increment_counter', 'open_counter',
  // 87: added after 0.42.3
  'echo_status_list', 'pack_nested_containers', 'echo_optional_point', 'echo_annotated_optional_int', 'echo_outer_optional_non_null',
  // 90
  'published_string',
]);

const PRODUCER_METHODS = new Set([
  'cancellable_producer', 'produce_dynamic_schema', 'produce_empty', 'produce_error_mid_stream', 'produce_error_on_init',
  'produce_large_batches', 'produce_n', 'produce_oversized_batch', 'produce_single', 'produce_with_header',
  'produce_with_header_and_logs', 'produce_with_logs', 'produce_with_rich_header', 'stream_session_counter',
  'produce_tick_metadata', 'produce_annotated_batches',
]);

const EXCHANGE_METHODS = new Set([
  'cancellable_exchange', 'exchange_accumulate', 'exchange_cast_compatible', 'exchange_error_on_init', 'exchange_error_on_nth',
  'exchange_oversized', 'exchange_scale', 'exchange_with_header', 'exchange_with_logs', 'exchange_with_rich_header',
  'exchange_zero_columns', 'exchange_session_counter', 'exchange_input_metadata',
]);

const STREAM_METHODS = new Set([...PRODUCER_METHODS, ...EXCHANGE_METHODS]);
const EXPECTED_METHODS = new Set([...UNARY_METHODS, ...STREAM_METHODS]);
const VOID_METHODS = new Set(['reset_cancel_probe', 'void_noop', 'void_with_param']);
const HEADER_METHODS = new Set([
  'exchange_with_header', 'exchange_with_rich_header', 'produce_dynamic_schema', 'produce_with_header',
  'produce_with_header_and_logs', 'produce_with_rich_header',
]);

interface MethodDesc {
  readonly name: string;
  readonly method_type: string;
  readonly has_return: boolean;
  readonly has_header: boolean;
  readonly stream_kind: string;
  readonly params_schema_ipc: Uint8Array;
  readonly result_schema_ipc: Uint8Array;
  readonly header_schema_ipc: Uint8Array;
}

/**
 * `vgi_rpc.introspect.DESCRIBE_VERSION` of the Reflection generation: the
 * introspection format number, vestigial since introspection became
 * `vgi_rpc.Reflection.v1` and pinned at "5" (protocol-delta §3).
 */
const DESCRIBE_VERSION = '5';

/** What the reference's `ServiceDescription` gives a test. */
interface ConformanceDescribe {
  readonly protocolName: string;
  readonly requestVersion: string;
  /** Not on the wire: the client view's own format number, as the reference's `_adapt_description` sets it. */
  readonly describeVersion: string;
  readonly protocolVersion: string;
  readonly protocolHash: string;
  readonly methods: ReadonlyMap<string, MethodDesc>;
}

/** The reference's `conformance_describe` fixture, via Reflection on the transport under test. */
const conformanceDescribe = async (get: () => Promise<{ conn: import('../../../src/index.js').ClientConnection }>): Promise<ConformanceDescribe> => {
  const { conn } = await get();
  const reflection = Client.promises(Reflection, conn);
  const listing = await reflection.list_protocols();
  const d = await reflection.describe({ protocol: 'ConformanceService' });
  return {
    protocolName: d.protocol,
    requestVersion: listing.request_version,
    describeVersion: DESCRIBE_VERSION,
    protocolVersion: d.protocol_version,
    protocolHash: d.protocol_hash,
    methods: new Map(d.methods.map((m) => [m.name, m])),
  };
};

const schemaOf = (ipc: Uint8Array): A.Schema | null => (ipc.byteLength === 0 ? null : decodeOneStream(ipc).schema);
const typeName = (f: A.Field | undefined): string => String(f?.type);
const sorted = (s: Iterable<string>): string[] => [...s].sort();

const assert = (cond: boolean, message: string): void => {
  if (!cond) throw new Error(message);
};

/** The describe catalog: `category.name` → check. */
const DESCRIBE_TESTS: [string, (d: ConformanceDescribe) => void][] = [
  ['describe_service.protocol_name', (d) => assert(d.protocolName === 'ConformanceService', `protocol_name=${d.protocolName}`)],
  ['describe_service.request_version', (d) => assert(d.requestVersion === '1', `request_version=${d.requestVersion}`)],
  ['describe_service.describe_version', (d) => assert(d.describeVersion === DESCRIBE_VERSION, `describe_version=${d.describeVersion}`)],
  ['describe_service.method_count', (d) => assert(d.methods.size === 90, `${d.methods.size} methods`)],
  ['describe_method_presence.exact_method_set', (d) => {
    const missing = sorted(EXPECTED_METHODS).filter((n) => !d.methods.has(n));
    const extra = sorted(d.methods.keys()).filter((n) => !EXPECTED_METHODS.has(n));
    assert(missing.length === 0, `Missing methods: ${missing.join(', ')}`);
    assert(extra.length === 0, `Extra methods: ${extra.join(', ')}`);
  }],
  ['describe_method_type.unary_methods', (d) => {
    for (const n of sorted(UNARY_METHODS)) assert(d.methods.get(n)?.method_type === 'unary', `${n} should be UNARY`);
  }],
  ['describe_method_type.stream_methods', (d) => {
    for (const n of sorted(STREAM_METHODS)) assert(d.methods.get(n)?.method_type === 'stream', `${n} should be STREAM`);
  }],
  ['describe_has_return.void_no_return', (d) => {
    for (const n of sorted(VOID_METHODS)) assert(d.methods.get(n)?.has_return === false, `${n} should have has_return=False`);
  }],
  ['describe_has_return.returning_unary', (d) => {
    for (const n of sorted(UNARY_METHODS)) if (!VOID_METHODS.has(n)) assert(d.methods.get(n)?.has_return === true, `${n} should have has_return=True`);
  }],
  ['describe_has_return.stream_no_return', (d) => {
    for (const n of sorted(STREAM_METHODS)) assert(d.methods.get(n)?.has_return === false, `${n} should have has_return=False`);
  }],
  ['describe_param_schemas.echo_string', (d) => {
    const s = schemaOf(d.methods.get('echo_string')!.params_schema_ipc)!;
    assert(s.fields.map((f) => f.name).join() === 'value' && typeName(s.fields[0]) === 'Utf8', `echo_string params ${s.fields.map(String)}`);
  }],
  ['describe_param_schemas.add_floats', (d) => {
    const s = schemaOf(d.methods.get('add_floats')!.params_schema_ipc)!;
    assert(s.fields.map((f) => f.name).join() === 'a,b', `add_floats params ${s.fields.map((f) => f.name)}`);
    assert(s.fields.every((f) => typeName(f) === 'Float64'), 'add_floats params must be float64');
  }],
  ['describe_param_schemas.void_noop_empty', (d) => {
    const s = schemaOf(d.methods.get('void_noop')!.params_schema_ipc);
    assert(s !== null && s.fields.length === 0, 'void_noop params must be an empty schema (always present)');
  }],
  ['describe_param_schemas.echo_point_binary', (d) => {
    const s = schemaOf(d.methods.get('echo_point')!.params_schema_ipc)!;
    assert(s.fields.map((f) => f.name).join() === 'point' && typeName(s.fields[0]) === 'Binary', 'echo_point param must be binary');
  }],
  ['describe_param_schemas.concatenate_three_fields', (d) => {
    const s = schemaOf(d.methods.get('concatenate')!.params_schema_ipc)!;
    assert(s.fields.map((f) => f.name).join() === 'prefix,suffix,separator', 'concatenate params');
    assert(s.fields.every((f) => typeName(f) === 'Utf8'), 'concatenate params must be utf8');
  }],
  ['describe_param_schemas.produce_n_count', (d) => {
    const s = schemaOf(d.methods.get('produce_n')!.params_schema_ipc)!;
    assert(s.fields.map((f) => f.name).join() === 'count' && typeName(s.fields[0]) === 'Int64', 'produce_n params');
  }],
  ['describe_stream_properties.has_header_true', (d) => {
    for (const n of sorted(HEADER_METHODS)) assert(d.methods.get(n)?.has_header === true, `${n} should have has_header=True`);
  }],
  ['describe_stream_properties.has_header_false', (d) => {
    for (const n of sorted(STREAM_METHODS)) if (!HEADER_METHODS.has(n)) assert(d.methods.get(n)?.has_header === false, `${n} should have has_header=False`);
  }],
  // Replaces 0.42.3's `is_exchange_none`: a port that knows the kind states it (golden describe @ 25ee0d6).
  ['describe_stream_properties.stream_kind', (d) => {
    for (const n of sorted(PRODUCER_METHODS)) assert(d.methods.get(n)?.stream_kind === 'producer', `${n} should have stream_kind=producer`);
    for (const n of sorted(EXCHANGE_METHODS)) assert(d.methods.get(n)?.stream_kind === 'exchange', `${n} should have stream_kind=exchange`);
    for (const n of sorted(UNARY_METHODS)) assert(d.methods.get(n)?.stream_kind === '', `${n} should have stream_kind=""`);
  }],
  ['describe_header_schemas.conformance_header_schema', (d) => {
    for (const n of ['produce_with_header', 'produce_with_header_and_logs', 'exchange_with_header']) {
      const s = schemaOf(d.methods.get(n)!.header_schema_ipc);
      assert(s !== null, `${n} should have a header_schema`);
      const names = s!.fields.map((f) => f.name);
      assert(names.length === 2 && names.includes('total_expected') && names.includes('description'), `${n} header ${names}`);
    }
  }],
  ['describe_header_schemas.rich_header_schema', (d) => {
    for (const n of ['produce_with_rich_header', 'produce_dynamic_schema', 'exchange_with_rich_header']) {
      const s = schemaOf(d.methods.get(n)!.header_schema_ipc);
      assert(s !== null, `${n} should have a header_schema`);
      const names = s!.fields.map((f) => f.name);
      assert(names.length === 18 && ['str_field', 'nested_point', 'dict_str_str'].every((x) => names.includes(x)), `${n} header ${names}`);
    }
  }],
  ['describe_header_schemas.no_header_none', (d) => {
    for (const n of sorted(STREAM_METHODS)) if (!HEADER_METHODS.has(n)) assert(schemaOf(d.methods.get(n)!.header_schema_ipc) === null, `${n} should have header_schema=None`);
  }],
  ['describe_protocol_hash.format', (d) => {
    assert(d.protocolHash.length === 64, 'protocol_hash must be 64 hex chars');
    assert(/^[0-9a-f]{64}$/.test(d.protocolHash), 'protocol_hash must be lowercase hex');
  }],
  ['describe_protocol_hash.pinned', (d) => assert(d.protocolHash === CONFORMANCE_HASH_90, `protocol_hash=${d.protocolHash}`)],
  ['describe_protocol_version.surfaces_declared_version', (d) => assert(d.protocolVersion === '2.0.0', `protocol_version=${d.protocolVersion}`)],
  ['describe_protocol_version.format', (d) => {
    const parts = d.protocolVersion.split('.');
    assert(parts.length === 3, `expected MAJOR.MINOR.PATCH, got ${d.protocolVersion}`);
    for (const c of parts) assert(/^(0|[1-9]\d*)$/.test(c), `bad semver component in ${d.protocolVersion}`);
  }],
];

/** `run_describe_conformance`: every check, collecting failures. */
const runDescribeConformance = (d: ConformanceDescribe): { total: number; failures: string[] } => {
  const failures: string[] = [];
  for (const [name, check] of DESCRIBE_TESTS) {
    try {
      check(d);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  return { total: DESCRIBE_TESTS.length, failures };
};

overTransports('TestDescribeConformance', (get) => {
  it('test_run_describe_conformance', async () => {
    const suite = runDescribeConformance(await conformanceDescribe(get));
    expect(suite.total).toBe(DESCRIBE_TESTS.length);
    expect(suite.failures).toEqual([]);
  });

  it('test_describe_via_rpc', async () => {
    const d = await conformanceDescribe(get);
    expect(d.methods.size).toBe(90);
    expect(d.protocolName).toBe('ConformanceService');
    expect(d.methods.get('echo_string')!.method_type).toBe('unary');
  });
});

/** Base URL of an HTTP transport's server, or of its auth-refusing server. */
const baseUrlOf = async (transport: ConformanceTransport, key: 'baseUrl' | 'authBaseUrl'): Promise<string> => {
  if (transport.httpUrls === undefined) throw new Error(`the ${transport.name} transport exposes no ${key}`);
  return (await transport.httpUrls())[key];
};

overTransports('TestHealth', (_get, transport) => {
  it('test_health_endpoint_returns_ok', async (ctx) => {
    const reason = transport.skipReason('http-only');
    if (reason !== undefined) ctx.skip(reason);
    const resp = await fetch(`${await baseUrlOf(transport, 'baseUrl')}/health`);
    expect(resp.status).toBe(200);
    const body = (await resp.json()) as Record<string, unknown>;
    expect(body.status).toBe('ok');
    expect(typeof body.server_id === 'string' && body.server_id !== '').toBe(true);
    expect(body.protocol).toBe('ConformanceService');
  });

  it('test_health_does_not_require_auth', async (ctx) => {
    const reason = transport.skipReason('http-only');
    if (reason !== undefined) ctx.skip(reason);
    const url = await baseUrlOf(transport, 'authBaseUrl');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as Record<string, unknown>).status).toBe('ok');
    const candidates: Record<string, number> = {};
    for (const path of ['/ConformanceService/echo_int', '/vgi/ConformanceService/echo_int']) {
      candidates[path] = (await fetch(`${url}${path}`, { method: 'POST', body: new Uint8Array(0) })).status;
    }
    expect(Object.values(candidates)).not.toContain(200);
    expect(Object.values(candidates)).toContain(401);
  });
});
