/**
 * Port of TestAdversarialHttpRequestContract
 * (vgi_rpc/conformance/_adversarial_http.py @ 31f50f7, the newest stored
 * version, which POSTs to the namespaced `{prefix}/ConformanceService/{method}`
 * route).
 *
 * Every body is valid Arrow IPC whose RPC contract is wrong. The worker must
 * answer 400 with a typed EXCEPTION batch and keep serving. As in the
 * reference, the request metadata carries `vgi_rpc.method`,
 * `vgi_rpc.request_version` and `vgi_rpc.protocol_version` but no
 * `vgi_rpc.protocol`: over HTTP the path routes the call.
 *
 * Fixture: `conformance_http_port` is PLAIN_HTTP.
 *
 * test_rejection_occurs_before_dispatch drives its probe calls through the
 * reference's HTTP client. Here they are the same requests on the wire:
 * `reset_cancel_probe` and `cancel_probe_counters` as unary POSTs, and
 * `cancellable_exchange()` plus `cancel()` as `/init`, then an `/exchange`
 * cancel echoing both tokens.
 */
import { expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { T } from '../../../src/index.js';
import { fieldEntries, type MethodDef } from '../../../src/service/method.js';
import type { ValueType } from '../../../src/types/value-type.js';
import { concatBytes } from '../../../src/wire/batch-encoder.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { NON_UTF8_PLACEHOLDER, errorOf, patchNonUtf8Method, requestBytes } from '../../support/raw-exchange.js';
import { CONFORMANCE_VERSION, ConformanceService } from '../../../examples/conformance/service.js';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import { type HttpReply, continuationBody, postArrow, readStreams, resultValue, rpcPath, snippet, tokenSentinel, unaryRequestBody } from './http-support.js';

/** `_METHOD_VALUES`. */
const METHOD_VALUES = {
  add_floats: { a: 1.0, b: 2.0 },
  produce_dynamic_schema: { seed: 7n, count: 1n, include_strings: true, include_floats: true },
} as const satisfies Record<string, Record<string, unknown>>;
type ValuedMethod = keyof typeof METHOD_VALUES;

const SCHEMA_MUTATIONS = ['missing_field', 'extra_field', 'wrong_name', 'wrong_order', 'wrong_type', 'wrong_nullability', 'zero_rows', 'two_rows'] as const;
const METADATA_MUTATIONS = ['missing_method', 'missing_request_version', 'wrong_request_version', 'non_utf8_method'] as const;

/** One parameter column: its field and value type. */
interface Param {
  readonly field: A.Field;
  readonly type: ValueType<unknown>;
}

/** The declared parameters of a method, in order. */
const paramsOf = (method: string): Param[] => {
  const def = ConformanceService.methods[method as keyof typeof ConformanceService.methods] as MethodDef;
  const types = new Map(fieldEntries(def.params));
  return def.paramsSchema.fields.map((field) => ({ field, type: types.get(field.name)! }));
};

/** `_request_body`: one complete request stream with optionally malformed dispatch metadata. */
const requestBody = (method: string, schema: A.Schema, columns: A.Data[], rows: number, metadataMutation?: string): Uint8Array => {
  const md: Record<string, string> = {
    [Keys.method]: method,
    [Keys.requestVersion]: '1',
    [Keys.protocolVersion]: CONFORMANCE_VERSION,
  };
  if (metadataMutation === 'missing_method') delete md[Keys.method];
  else if (metadataMutation === 'missing_request_version') delete md[Keys.requestVersion];
  else if (metadataMutation === 'wrong_request_version') md[Keys.requestVersion] = '999';
  else if (metadataMutation === 'non_utf8_method') md[Keys.method] = NON_UTF8_PLACEHOLDER;
  else if (metadataMutation !== undefined) throw new Error(`unknown metadata mutation: ${metadataMutation}`);
  const chunks = requestBytes(schema, columns, rows, md);
  if (metadataMutation === 'non_utf8_method') patchNonUtf8Method(chunks);
  return concatBytes(chunks);
};

/** The parameter batch of `_valid_request` / `_metadata_mutation_body`: one row of `_METHOD_VALUES`. */
const validParams = (method: ValuedMethod): { schema: A.Schema; columns: A.Data[] } => {
  const values: Record<string, unknown> = METHOD_VALUES[method];
  const params = paramsOf(method);
  return { schema: new A.Schema(params.map((p) => p.field)), columns: params.map((p) => p.type.encode([values[p.field.name]])) };
};

/** `_valid_request`. */
const validRequest = (method: ValuedMethod): Uint8Array => {
  const { schema, columns } = validParams(method);
  return requestBody(method, schema, columns, 1);
};

/** `_schema_mutation_body`: a structurally valid request whose parameter contract is wrong. */
const schemaMutationBody = (method: ValuedMethod, mutation: (typeof SCHEMA_MUTATIONS)[number]): Uint8Array => {
  const values: Record<string, unknown> = METHOD_VALUES[method];
  const params = paramsOf(method);
  const cols = params.map((p) => ({ field: p.field, type: p.type, value: values[p.field.name] }));
  let rows = 1;
  const first = cols[0]!;
  switch (mutation) {
    case 'missing_field':
      cols.pop();
      break;
    case 'extra_field':
      cols.push({ field: new A.Field('unexpected', new A.Utf8(), false), type: T.utf8, value: 'extra' });
      break;
    case 'wrong_name':
      cols[0] = { ...first, field: new A.Field('wrong_name', first.field.type, first.field.nullable) };
      break;
    case 'wrong_order':
      cols.reverse();
      break;
    case 'wrong_type':
      cols[0] = { field: new A.Field(first.field.name, new A.Utf8(), first.field.nullable), type: T.utf8, value: 'wrong type' };
      break;
    case 'wrong_nullability':
      cols[0] = { ...first, field: new A.Field(first.field.name, first.field.type, !first.field.nullable) };
      break;
    case 'zero_rows':
      rows = 0;
      break;
    case 'two_rows':
      rows = 2;
      break;
  }
  const columns = cols.map((c) => c.type.encode(Array.from({ length: rows }, () => c.value)));
  return requestBody(method, new A.Schema(cols.map((c) => c.field)), columns, rows);
};

/** `_metadata_mutation_body`: a valid parameter batch, malformed dispatch metadata. */
const metadataMutationBody = (method: ValuedMethod, mutation: (typeof METADATA_MUTATIONS)[number]): Uint8Array => {
  const { schema, columns } = validParams(method);
  return requestBody(method, schema, columns, 1, mutation);
};

/** `_reset_probe_body`: a `reset_cancel_probe` request with a wrong schema or without its method key. */
const resetProbeBody = (invalidSchema: boolean, missingMethod: boolean): Uint8Array => {
  if (invalidSchema) {
    const schema = new A.Schema([new A.Field('unexpected', new A.Int64(), false)]);
    return requestBody('reset_cancel_probe', schema, [T.int64.encode([1n])], 1, missingMethod ? 'missing_method' : undefined);
  }
  return requestBody('reset_cancel_probe', new A.Schema([]), [], 0, missingMethod ? 'missing_method' : undefined);
};

/** `_post`: POST at the first candidate prefix that does not answer 404. */
const post = async (w: HttpWorker, method: string, body: Uint8Array, suffix = ''): Promise<HttpReply> => {
  let resp: HttpReply | undefined;
  for (const prefix of ['', '/vgi']) {
    resp = await postArrow(`${w.origin}${rpcPath(prefix, method, suffix)}`, body, { 'Accept-Encoding': 'identity' });
    if (resp.status !== 404) return resp;
  }
  return resp!;
};

/** `_assert_rejected`: a typed 400, then a successful `add_floats` on the same worker. */
const assertRejected = async (w: HttpWorker, method: string, body: Uint8Array, suffix = ''): Promise<void> => {
  const response = await post(w, method, body, suffix);
  expect(response.status, `invalid request reached '${method}': expected HTTP 400, got ${response.status}`).toBe(400);
  const error = readStreams(response.body).map(errorOf).find((e) => e !== undefined);
  expect(error, 'HTTP 400 response did not contain a typed RPC error').toBeDefined();
  expect(error!.type, 'HTTP 400 must carry a typed RPC error').toMatch(/\w/);
  expect(error!.type).not.toBe('undefined');

  const recovery = await post(w, 'add_floats', validRequest('add_floats'));
  expect(recovery.status, `worker did not recover after rejecting '${method}': follow-up call returned HTTP ${recovery.status}`).toBe(200);
  expect(resultValue(recovery.body)).toBeCloseTo(3.0, 12);
};

/** A unary call on the worker that must succeed; returns its result. */
const unary = async (w: HttpWorker, method: string, params: Record<string, unknown> = {}): Promise<HttpReply> => {
  const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, method)}`, unaryRequestBody(method, params), { 'Accept-Encoding': 'identity' });
  expect(resp.status, `${method}: ${resp.status}: ${snippet(resp)}`).toBe(200);
  return resp;
};

/** `proxy.cancel_probe_counters()[2]`: the on_cancel count. */
const onCancelCalls = async (w: HttpWorker): Promise<number> => {
  const counters = resultValue((await unary(w, 'cancel_probe_counters')).body) as Iterable<bigint | null>;
  return Number([...counters][2]);
};

/** `proxy.cancellable_exchange()` then `session.cancel()`, on the wire. */
const openAndCancelExchange = async (w: HttpWorker): Promise<void> => {
  const identity = { 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' };
  const init = await postArrow(`${w.origin}${rpcPath(w.prefix, 'cancellable_exchange', '/init')}`, unaryRequestBody('cancellable_exchange'), identity);
  expect(init.status, `cancellable_exchange /init: ${init.status}: ${snippet(init)}`).toBe(200);
  const sentinel = tokenSentinel(readStreams(init.body).flatMap((s) => s.batches));
  expect(sentinel, 'cancellable_exchange /init carried no cursor token').toBeDefined();
  const cancel = await postArrow(
    `${w.origin}${rpcPath(w.prefix, 'cancellable_exchange', '/exchange')}`,
    continuationBody(sentinel!.meta(Keys.streamState)!, sentinel!.meta(Keys.callState), true),
    identity,
  );
  expect(cancel.status, `cancel: ${cancel.status}: ${snippet(cancel)}`).toBe(200);
};

httpGroup('TestAdversarialHttpRequestContract', () => {
  for (const mutation of SCHEMA_MUTATIONS) {
    it(`test_unary_parameter_contract[${mutation}]`, async () => {
      await assertRejected(await httpWorker(PLAIN_HTTP), 'add_floats', schemaMutationBody('add_floats', mutation));
    });
  }

  for (const mutation of SCHEMA_MUTATIONS) {
    it(`test_stream_init_parameter_contract[${mutation}]`, async () => {
      await assertRejected(await httpWorker(PLAIN_HTTP), 'produce_dynamic_schema', schemaMutationBody('produce_dynamic_schema', mutation), '/init');
    });
  }

  const endpoints = [['unary', 'add_floats', ''], ['stream_init', 'produce_dynamic_schema', '/init']] as const;
  for (const [id, method, suffix] of endpoints) {
    for (const mutation of METADATA_MUTATIONS) {
      it(`test_dispatch_metadata_contract[${id}-${mutation}]`, async () => {
        await assertRejected(await httpWorker(PLAIN_HTTP), method, metadataMutationBody(method, mutation), suffix);
      });
    }
  }

  const probes = [['schema', true, false], ['metadata', false, true]] as const;
  for (const [id, invalidSchema, missingMethod] of probes) {
    it(`test_rejection_occurs_before_dispatch[${id}]`, async () => {
      const w = await httpWorker(PLAIN_HTTP);
      await unary(w, 'reset_cancel_probe');
      await openAndCancelExchange(w);
      expect(await onCancelCalls(w)).toBe(1);

      await assertRejected(w, 'reset_cancel_probe', resetProbeBody(invalidSchema, missingMethod));
      expect(await onCancelCalls(w), 'invalid request dispatched reset_cancel_probe').toBe(1);
    });
  }
});
