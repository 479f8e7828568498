/**
 * Port of TestAdversarialRawRequestContract (vgi_rpc/conformance/_adversarial_raw.py
 * at 749b550, read from the stored index). Its request builders come from
 * _adversarial_http.py, stored only at 31f50f7, which predates the routing
 * key: there the request metadata has no `vgi_rpc.protocol`. At 749b550 the
 * raw module imports `_ROUTING_KEY_MUTATION` from it, so its requests carry
 * the routing key and that mutation removes it; `requestBody` does the same.
 *
 * Each request is a fully framed Arrow IPC stream whose RPC contract is
 * wrong. A persistent raw transport must answer with a typed error and keep
 * serving the same connection.
 */
import { expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { T, type ClientTransport } from '../../../src/index.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { NON_UTF8_PLACEHOLDER, errorOf, patchNonUtf8Method, requestBytes, type RawError } from '../../support/raw-exchange.js';
import { overTransports } from '../harness.js';
import { rawSend } from './protocol-support.js';

const PROTOCOL = 'ConformanceService';
const PROTOCOL_VERSION = '2.0.0';

/** `_METHOD_VALUES["add_floats"]`. */
const ADD_FLOATS = { a: 1.0, b: 2.0 };
const addFloatsFields: A.Field[] = [new A.Field('a', new A.Float64(), false), new A.Field('b', new A.Float64(), false)];

const SCHEMA_MUTATIONS = ['missing_field', 'extra_field', 'wrong_name', 'wrong_order', 'wrong_type', 'wrong_nullability', 'zero_rows', 'two_rows'] as const;
const METADATA_MUTATIONS = ['missing_method', 'missing_request_version', 'wrong_request_version', 'non_utf8_method'] as const;
const ROUTING_KEY_MUTATION = 'missing_protocol';

/** `_request_body`: one complete request stream, with optionally malformed dispatch metadata. */
const requestBody = (schema: A.Schema, columns: A.Data[], rows: number, mutation?: string): Uint8Array[] => {
  const md: Record<string, string> = {
    [Keys.method]: 'add_floats',
    [Keys.protocol]: PROTOCOL,
    [Keys.requestVersion]: '1',
    [Keys.protocolVersion]: PROTOCOL_VERSION,
  };
  if (mutation === 'missing_method') delete md[Keys.method];
  else if (mutation === 'missing_request_version') delete md[Keys.requestVersion];
  else if (mutation === 'wrong_request_version') md[Keys.requestVersion] = '999';
  else if (mutation === 'non_utf8_method') md[Keys.method] = NON_UTF8_PLACEHOLDER;
  else if (mutation === ROUTING_KEY_MUTATION) delete md[Keys.protocol];
  else if (mutation !== undefined) throw new Error(`unknown metadata mutation: ${mutation}`);
  const chunks = requestBytes(schema, columns, rows, md);
  if (mutation === 'non_utf8_method') patchNonUtf8Method(chunks);
  return chunks;
};

type Value = number | string;
const column = (field: A.Field, values: Value[]): A.Data =>
  A.DataType.isUtf8(field.type) ? T.utf8.encode(values as string[]) : T.float64.encode(values as number[]);

/** `_schema_mutation_body("add_floats", mutation)`. */
const schemaMutationBody = (mutation: (typeof SCHEMA_MUTATIONS)[number]): Uint8Array[] => {
  const fields = [...addFloatsFields];
  const values: Value[] = [ADD_FLOATS.a, ADD_FLOATS.b];
  let rows = 1;
  switch (mutation) {
    case 'missing_field':
      fields.pop();
      values.pop();
      break;
    case 'extra_field':
      fields.push(new A.Field('unexpected', new A.Utf8(), false));
      values.push('extra');
      break;
    case 'wrong_name':
      fields[0] = new A.Field('wrong_name', fields[0]!.type, fields[0]!.nullable);
      break;
    case 'wrong_order':
      fields.reverse();
      values.reverse();
      break;
    case 'wrong_type':
      fields[0] = new A.Field(fields[0]!.name, new A.Utf8(), fields[0]!.nullable);
      values[0] = 'wrong type';
      break;
    case 'wrong_nullability':
      fields[0] = new A.Field(fields[0]!.name, fields[0]!.type, !fields[0]!.nullable);
      break;
    case 'zero_rows':
      rows = 0;
      break;
    case 'two_rows':
      rows = 2;
      break;
  }
  const columns = fields.map((f, i) => column(f, Array.from({ length: rows }, () => values[i]!)));
  return requestBody(new A.Schema(fields), columns, rows);
};

/** `_metadata_mutation_body("add_floats", mutation)`: a valid parameter batch, malformed metadata. */
const metadataMutationBody = (mutation: string): Uint8Array[] =>
  requestBody(new A.Schema(addFloatsFields), [T.float64.encode([ADD_FLOATS.a]), T.float64.encode([ADD_FLOATS.b])], 1, mutation);

/** `_send_invalid_request`: write one framed invalid request and return its typed error response. */
const sendInvalidRequest = async (t: ClientTransport, body: Uint8Array[]): Promise<RawError> => {
  const error = errorOf(await rawSend(t, body));
  if (error === undefined) throw new Error('raw request-contract rejection did not carry a typed RPC error');
  return error;
};

overTransports('TestAdversarialRawRequestContract', (get, transport) => {
  /** `_assert_rejected_and_reusable`: a typed rejection, then a successful call on the same connection. */
  const assertRejectedAndReusable = async (t: ClientTransport, body: Uint8Array[], addFloats: () => Promise<number>): Promise<void> => {
    const error = await sendInvalidRequest(t, body);
    expect(error.type, 'raw rejection must identify its RPC error type').not.toBe('');
    expect(await addFloats()).toBeCloseTo(3.75, 6);
  };

  for (const mutation of SCHEMA_MUTATIONS) {
    it.skipIf(transport.skipReason('raw-frames') !== undefined)(`test_parameter_contract[${mutation}]`, async () => {
      const { svc, transport: t } = await get();
      await assertRejectedAndReusable(t, schemaMutationBody(mutation), () => svc.add_floats({ a: 1.25, b: 2.5 }));
    });
  }

  for (const mutation of METADATA_MUTATIONS) {
    it.skipIf(transport.skipReason('raw-frames') !== undefined)(`test_dispatch_metadata_contract[${mutation}]`, async () => {
      const { svc, transport: t } = await get();
      await assertRejectedAndReusable(t, metadataMutationBody(mutation), () => svc.add_floats({ a: 1.25, b: 2.5 }));
    });
  }

  it.skipIf(transport.skipReason('raw-frames') !== undefined)('test_an_absent_routing_key_is_refused', async () => {
    const { svc, transport: t } = await get();
    const error = await sendInvalidRequest(t, metadataMutationBody(ROUTING_KEY_MUTATION));
    // protocol_not_specified carries INVALID_ARGUMENT (WIRE_PROTOCOL.md §8).
    expect([error.kind, error.code], `kind=${error.kind} code=${error.code}`).toEqual(['protocol_not_specified', 'INVALID_ARGUMENT']);
    expect(await svc.add_floats({ a: 1.25, b: 2.5 })).toBeCloseTo(3.75, 6);
  });
});
