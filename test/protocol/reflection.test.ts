import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import * as A from 'apache-arrow';
import { Client, Reflection, RpcConnection, protocolHash, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { Demo, DemoLive } from '../../examples/demo/demo-service.js';
import { surfaceOf } from '../../src/protocol/method-surface.js';
import { decodeOneStream } from '../../src/wire/stream-reader.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { errorOf, readResponse, requestBytes, route } from '../support/raw-exchange.js';

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Demo], DemoLive, { serverId: '0123456789ab' }));
});
afterAll(() => dispose());

const reflect = () => Client.promises(Reflection, new RpcConnection(memoryConnect(dispatcher)));

describe('vgi_rpc.Reflection.v1', () => {
  it('has the hash the reference pins for Reflection itself', () => {
    const surfaces = Object.entries(Reflection.methods).map(([n, m]) => surfaceOf(n, m));
    expect(protocolHash(Reflection.name, surfaces)).toBe('3c7db4cae8cdfc93dc4a76e73b8b759e18e45e6a5811adba4e520366344b919a');
  });

  it('lists the hosted protocols in registration order, framework last', async () => {
    const list = await reflect().list_protocols();
    expect(list.server_id).toBe('0123456789ab');
    expect(list.request_version).toBe('1');
    expect(list.protocols.map((p) => p.protocol)).toEqual(['Demo', 'vgi_rpc.Reflection.v1']);
    const demo = list.protocols[0]!;
    expect(demo.protocol_version).toBe('1.0.0');
    expect(demo.protocol_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(demo.features).toEqual([]);
    expect(list.protocols[1]!.protocol_version).toBe('');
  });

  it('describes a protocol: sorted methods, kinds and schemas', async () => {
    const d = await reflect().describe({ protocol: 'Demo' });
    expect(d.methods.map((m) => m.name)).toEqual(['countdown', 'divide', 'greet', 'norm', 'scale', 'whoami']);
    const byName = new Map(d.methods.map((m) => [m.name, m]));
    expect(byName.get('countdown')).toMatchObject({ method_type: 'stream', stream_kind: 'producer', has_header: true, has_return: false, idempotency: 'unknown' });
    expect(byName.get('scale')).toMatchObject({ method_type: 'stream', stream_kind: 'exchange', has_header: false });
    expect(byName.get('divide')).toMatchObject({ method_type: 'unary', stream_kind: '', has_return: true });
    const params = decodeOneStream(byName.get('divide')!.params_schema_ipc).schema;
    expect(params.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual(['a:Float64:false', 'b:Float64:false']);
    expect(byName.get('countdown')!.result_schema_ipc.byteLength).toBe(0);
    const header = decodeOneStream(byName.get('countdown')!.header_schema_ipc).schema;
    expect(header.fields.map((f) => f.name)).toEqual(['total']);
    expect(d.protocol_hash).toBe((await reflect().list_protocols()).protocols[0]!.protocol_hash);
  });

  it('refuses to describe an unhosted protocol with protocol_not_supported', async () => {
    const err = (await reflect().describe({ protocol: 'Nope' }).catch((e: unknown) => e)) as { errorType: string; errorKind: string };
    expect(err.errorType).toBe('ProtocolNotSupportedError');
    expect(err.errorKind).toBe('protocol_not_supported');
  });

  it('is exempt from the version gate and accepts a zero-row list_protocols request', async () => {
    const t = memoryConnect(dispatcher);
    await t.write(requestBytes(new A.Schema([]), [], 0, route('vgi_rpc.Reflection.v1', 'list_protocols', { [Keys.protocolVersion]: '99.0.0' })));
    const r = await readResponse(t);
    expect(errorOf(r)).toBeUndefined();
    expect(r.batches.at(-1)!.numRows).toBe(1);
  });
});
