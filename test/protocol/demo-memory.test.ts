import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { Client, RpcConnection, RpcClientError, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { Demo, DemoLive } from '../../examples/demo/demo-service.js';

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Demo], DemoLive));
});
afterAll(() => dispose());

const connect = () => {
  const conn = new RpcConnection(memoryConnect(dispatcher));
  return { conn, demo: Client.promises(Demo, conn) };
};

describe('Demo over the in-memory transport', () => {
  it('calls unary methods with defaults, records and logs', async () => {
    const { demo } = connect();
    expect(await demo.greet({ name: 'Ada' })).toBe('Hello, Ada!');
    expect(await demo.greet({ name: 'Ada', greeting: 'Hi' })).toBe('Hi, Ada!');
    const logs: string[] = [];
    expect(await demo.norm({ point: { x: 3, y: 4 } }, { onLog: (l) => logs.push(`${l.level}:${l.message}:${JSON.stringify(l.extra)}`) })).toBe(5);
    expect(logs).toEqual(['INFO:computing a norm:{"x":3,"y":4}']);
  });

  it('reports typed errors and keeps serving', async () => {
    const { demo } = connect();
    const err = await demo.divide({ a: 1, b: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcClientError);
    expect((err as RpcClientError).errorType).toBe('ValueError');
    expect((err as RpcClientError).message).toBe('division by zero');
    expect(await demo.divide({ a: 1, b: 4 })).toBe(0.25);
  });

  it('pipelines unary calls', async () => {
    const { demo } = connect();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => demo.divide({ a: i, b: 2 })));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i / 2));
  });

  it('streams a producer with a header', async () => {
    const { demo } = connect();
    const s = await demo.countdown({ from: 3n });
    expect(s.header).toEqual({ total: 3n });
    const rows = [];
    for await (const b of s) rows.push(...b.rows());
    expect(rows).toEqual([{ n: 3n, label: 'T-3' }, { n: 2n, label: 'T-2' }, { n: 1n, label: 'T-1' }]);
    expect(await demo.greet({ name: 'after' })).toBe('Hello, after!');
  });

  it('runs an exchange and closes it', async () => {
    const { demo } = connect();
    const s = await demo.scale({ factor: 2 });
    const out = await s.exchange({ _tag: 'columns', columns: { x: [1, 2.5] }, metadata: undefined });
    expect(out.values('x')).toEqual([2, 5]);
    const out2 = await s.exchange({ _tag: 'rows', rows: [{ x: -1 }], metadata: undefined });
    expect(out2.values('x')).toEqual([-2]);
    await s.close();
    expect(await demo.greet({ name: 'z' })).toBe('Hello, z!');
  });
});
