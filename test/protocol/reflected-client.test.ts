/**
 * Calling methods known only from Reflection (src/client/reflected-client.ts),
 * in process against the conformance services: every described schema maps
 * back to value types with the same Arrow types, left-out parameters reach
 * the server as null (its defaults apply), and streams are read with the
 * schemas their batches carry.
 */
import * as Layer from 'effect/Layer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Output, Reflected, RpcClientError, RpcConnection, T } from '../../src/index.js';
import { paramsSchemaOf } from '../../src/types/record.js';
import { typeToken } from '../../src/types/type-tokens.js';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { ConformanceService, conformanceLayer } from '../../examples/conformance/service.js';
import { SecondaryLive, SecondaryService } from '../../examples/conformance/secondary.js';

let server: Awaited<ReturnType<typeof makeDispatcher>>;
let conn: RpcConnection;
let primary: Reflected.ReflectedProtocol;

beforeAll(async () => {
  server = await makeDispatcher([ConformanceService, SecondaryService], Layer.mergeAll(conformanceLayer(), SecondaryLive));
  conn = new RpcConnection(memoryConnect(server.dispatcher));
  primary = await Reflected.describeProtocol(conn, 'ConformanceService');
});
afterAll(async () => {
  await conn.close();
  await server.dispose();
});

const method = (name: string) => {
  const m = primary.methods.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no method ${name}`);
  return m;
};

const tokens = (s: { fields: readonly { name: string; nullable: boolean; type: Parameters<typeof typeToken>[0] }[] }) =>
  s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}:${typeToken(f.type)}`);

describe('Reflected client', () => {
  it('lists the hosted protocols with versions and hashes', async () => {
    const s = await Reflected.listProtocols(conn);
    expect(s.requestVersion).toBe('1');
    expect(s.protocols.map((p) => [p.name, p.version])).toEqual([
      ['ConformanceService', '2.0.0'], ['conformance.Secondary.v1', undefined], ['vgi_rpc.Reflection.v1', undefined],
    ]);
    expect(primary.hash).toBe(s.protocols[0]!.hash);
  });

  it('describes every method with its kind, and its schemas map back to the same Arrow types', () => {
    expect(primary.methods.length).toBe(Object.keys(ConformanceService.methods).length);
    for (const m of primary.methods) {
      const declared = ConformanceService.methods[m.name as keyof typeof ConformanceService.methods];
      expect(m.kind, m.name).toBe(declared.kind);
      expect(tokens(m.params), m.name).toEqual(tokens(declared.paramsSchema));
      expect(tokens(paramsSchemaOf(T.fieldsOfSchema(m.params))), m.name).toEqual(tokens(m.params));
      if (m.result !== undefined) expect(tokens(m.result), m.name).toEqual(tokens((declared as { resultSchema: typeof m.result }).resultSchema));
    }
  });

  it('calls unary methods by name; left-out parameters get the server defaults', async () => {
    expect(await Reflected.callReflected(conn, primary, method('with_defaults'), { required: 5n })).toBe('required=5, optional_str=default, optional_int=42');
    expect(await Reflected.callReflected(conn, primary, method('echo_dict'), { mapping: new Map([['a', 1n], ['b', null]]) })).toEqual(new Map([['a', 1n], ['b', null]]));
    expect(await Reflected.callReflected(conn, primary, method('echo_enum'), { status: 'CLOSED' })).toBe('CLOSED');
    expect(await Reflected.callReflected(conn, primary, method('void_noop'), {})).toBeUndefined();
    const e = await Reflected.callReflected(conn, primary, method('with_defaults'), {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcClientError);
    expect((e as RpcClientError).local).toBe(false);
    expect((e as RpcClientError).message).toContain("'required'");
  });

  it('opens producers (with header) and exchanges (with caller-given input fields)', async () => {
    const p = await Reflected.openReflected(conn, primary, method('produce_with_header'), { count: 2n });
    expect(p.header).toEqual({ total_expected: 2n, description: 'producing 2 batches' });
    const rows: unknown[] = [];
    for await (const b of p) rows.push(...b.rowsAsSent());
    expect(rows).toEqual([{ index: 0n, value: 0n }, { index: 1n, value: 10n }]);
    const x = await Reflected.openReflected(conn, primary, method('exchange_scale'), { factor: 3 }, { value: T.int64 });
    const out = await x.exchange(Output.rows([{ value: 2n }, { value: 5n }]));
    expect(out.rowsAsSent()).toEqual([{ value: 6 }, { value: 15 }]);
    await x.close();
  });
});
