import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import * as A from 'apache-arrow';
import { T, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { Demo, DemoLive } from '../../examples/demo/demo-service.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { errorOf, readResponse, requestBytes, route } from '../support/raw-exchange.js';

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Demo], DemoLive, { serverId: 'abcdefabcdef' }));
});
afterAll(() => dispose());

const divideSchema = new A.Schema([new A.Field('a', new A.Float64(), false), new A.Field('b', new A.Float64(), false)]);
const f64 = (v: number): A.Data => T.float64.encode([v]);
const V = { [Keys.protocolVersion]: '1.0.0' };

/** Send one raw request and read its response on a fresh connection, then prove the connection still serves. */
const send = async (schema: A.Schema, columns: A.Data[], rows: number, md: Record<string, string>) => {
  const t = memoryConnect(dispatcher);
  await t.write(requestBytes(schema, columns, rows, md));
  const r = await readResponse(t);
  await t.write(requestBytes(divideSchema, [f64(6), f64(3)], 1, route('Demo', 'divide', V)));
  const ok = await readResponse(t);
  expect(ok.batches.at(-1)!.columns[0]!.values[0]).toBe(2);
  await t.close();
  return r;
};

describe('request validation and routing errors', () => {
  it('refuses a request without a routing key, listing the hosted protocols', async () => {
    const r = await send(divideSchema, [f64(1), f64(2)], 1, route(undefined, 'divide'));
    expect(r.schema.fields).toHaveLength(0);
    expect(errorOf(r)).toMatchObject({ type: 'ProtocolNotSpecifiedError', kind: 'protocol_not_specified' });
    expect(errorOf(r)!.message).toContain("['Demo', 'vgi_rpc.Reflection.v1']");
  });

  it('refuses an unhosted protocol and a malformed protocol name', async () => {
    const r = await send(divideSchema, [f64(1), f64(2)], 1, route('Other.v1', 'divide'));
    expect(errorOf(r)).toMatchObject({ type: 'ProtocolNotSupportedError', kind: 'protocol_not_supported' });
    expect(errorOf(r)!.message).toBe("This server does not host protocol 'Other.v1'. Hosted: ['Demo', 'vgi_rpc.Reflection.v1'].");
    const bad = await send(divideSchema, [f64(1), f64(2)], 1, route('bad-name', 'divide'));
    expect(errorOf(bad)).toMatchObject({ type: 'ProtocolNotSupportedError', kind: 'protocol_not_supported' });
    expect(errorOf(bad)!.message).toContain('is not a protocol name');
  });

  it('refuses an unknown method, listing the available ones', async () => {
    const r = await send(divideSchema, [f64(1), f64(2)], 1, route('Demo', 'nope', V));
    expect(errorOf(r)).toMatchObject({ type: 'MethodNotImplementedError', kind: 'method_not_implemented' });
    expect(errorOf(r)!.message).toBe("Protocol 'Demo' has no method 'nope'. Available: ['countdown', 'divide', 'greet', 'norm', 'scale', 'whoami'].");
  });

  it('answers the retired __describe__ and __transport_options__ before routing', async () => {
    const d = await send(new A.Schema([]), [], 0, route(undefined, '__describe__'));
    expect(errorOf(d)).toMatchObject({ type: 'MethodNotImplementedError', kind: 'method_not_implemented' });
    expect(errorOf(d)!.message).toContain("'vgi_rpc.Reflection.v1'");
    const t = await send(new A.Schema([]), [], 0, route(undefined, '__transport_options__'));
    expect(errorOf(t)).toBeUndefined();
    expect(t.batches[0]!.meta(Keys.transportShm)).toBe('false');
    expect(t.batches[0]!.meta(Keys.serverId)).toBe('abcdefabcdef');
  });

  it('checks request_version and the method key', async () => {
    const noMethod = await send(divideSchema, [f64(1), f64(2)], 1, { [Keys.protocol]: 'Demo', [Keys.requestVersion]: '1' });
    expect(errorOf(noMethod)?.type).toBe('ProtocolError');
    const noVersion = await send(divideSchema, [f64(1), f64(2)], 1, { [Keys.method]: 'divide', [Keys.protocol]: 'Demo' });
    expect(errorOf(noVersion)?.type).toBe('VersionError');
    const wrong = await send(divideSchema, [f64(1), f64(2)], 1, route('Demo', 'divide', { ...V, [Keys.requestVersion]: '2' }));
    expect(errorOf(wrong)?.type).toBe('VersionError');
  });

  it('gates protocol_version on major.minor, in both directions and when absent', async () => {
    const old = await send(divideSchema, [f64(1), f64(2)], 1, route('Demo', 'divide', { [Keys.protocolVersion]: '0.9.0' }));
    expect(errorOf(old)).toMatchObject({ type: 'ProtocolVersionError', kind: 'protocol_version_mismatch' });
    expect(errorOf(old)!.message).toContain('client is too old');
    expect(old.schema.fields.map((f) => f.name)).toEqual(['result']);
    const newer = await send(divideSchema, [f64(1), f64(2)], 1, route('Demo', 'divide', { [Keys.protocolVersion]: '1.1.0' }));
    expect(errorOf(newer)!.message).toContain('server is too old');
    const absent = await send(divideSchema, [f64(1), f64(2)], 1, route('Demo', 'divide'));
    expect(errorOf(absent)!.message).toContain('<not declared>');
    const patch = await send(divideSchema, [f64(8), f64(2)], 1, route('Demo', 'divide', { [Keys.protocolVersion]: '1.0.7' }));
    expect(errorOf(patch)).toBeUndefined();
    expect(patch.batches.at(-1)!.columns[0]!.values[0]).toBe(4);
  });

  it('validates the parameter schema strictly', async () => {
    const md = route('Demo', 'divide', V);
    const cases: [string, A.Schema, A.Data[], RegExp][] = [
      ['missing field', new A.Schema([divideSchema.fields[0]!]), [f64(1)], /missing required argument\(s\): 'b'/],
      ['extra field', new A.Schema([...divideSchema.fields, new A.Field('c', new A.Float64(), false)]), [f64(1), f64(2), f64(3)], /unexpected keyword argument\(s\): 'c'/],
      ['wrong order', new A.Schema([divideSchema.fields[1]!, divideSchema.fields[0]!]), [f64(1), f64(2)], /field 0 expected name 'a', got 'b'/],
      ['wrong type', new A.Schema([new A.Field('a', new A.Int64(), false), divideSchema.fields[1]!]), [T.int64.encode([1n]), f64(2)], /expected Arrow type float64 but the request batch carried int64/],
      ['wrong nullability', new A.Schema([new A.Field('a', new A.Float64(), true), divideSchema.fields[1]!]), [f64(1), f64(2)], /expected nullable=False/],
    ];
    for (const [name, schema, cols, re] of cases) {
      const r = await send(schema, cols, 1, md);
      expect(errorOf(r)?.type, name).toBe('TypeError');
      expect(errorOf(r)!.message, name).toMatch(re);
      expect(r.schema.fields.map((f) => f.name), name).toEqual(['result']);
    }
  });

  it('requires exactly one row', async () => {
    const md = route('Demo', 'divide', V);
    const zero = await send(divideSchema, [T.float64.encode([]), T.float64.encode([])], 0, md);
    expect(errorOf(zero)?.type).toBe('ProtocolError');
    expect(errorOf(zero)!.message).toContain('Expected 1 row in request batch, got 0');
    const two = await send(divideSchema, [T.float64.encode([1, 2]), T.float64.encode([3, 4])], 2, md);
    expect(errorOf(two)!.message).toContain('got 2');
  });

  it('stamps server_id and the request id on error batches', async () => {
    const r = await send(divideSchema, [f64(1), f64(0)], 1, route('Demo', 'divide', { ...V, [Keys.requestId]: '0123456789abcdef' }));
    const b = r.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION')!;
    expect(b.meta(Keys.serverId)).toBe('abcdefabcdef');
    expect(b.meta(Keys.requestId)).toBe('0123456789abcdef');
    expect(b.meta(Keys.logMessage)).toBe('ValueError: division by zero');
    expect(errorOf(r)!.extra.traceback).toContain('ValueError');
  });
});

describe('parameter defaults', () => {
  it('applies defaults for defaulted parameters left out of the request', async () => {
    const schema = new A.Schema([new A.Field('name', new A.Utf8(), false)]);
    const r = await send(schema, [T.utf8.encode(['Ada'])], 1, route('Demo', 'greet', V));
    expect(errorOf(r)).toBeUndefined();
    expect(T.utf8.decode(r.batches.at(-1)!.columns[0]!, 0)).toBe('Hello, Ada!');
  });

  it('applies defaults for a null in a defaulted parameter (the peer client sends null)', async () => {
    const schema = new A.Schema([new A.Field('name', new A.Utf8(), false), new A.Field('greeting', new A.Utf8(), false)]);
    const r = await send(schema, [T.utf8.encode(['Ada']), T.optional(T.utf8).encode([null])], 1, route('Demo', 'greet', V));
    expect(T.utf8.decode(r.batches.at(-1)!.columns[0]!, 0)).toBe('Hello, Ada!');
  });

  it('still refuses a missing parameter without a default', async () => {
    const schema = new A.Schema([new A.Field('greeting', new A.Utf8(), false)]);
    const r = await send(schema, [T.utf8.encode(['Hi'])], 1, route('Demo', 'greet', V));
    expect(errorOf(r)?.message).toBe("greet() missing required argument(s): 'name'");
  });
});
