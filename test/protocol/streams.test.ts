import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import * as Effect from 'effect/Effect';
import * as A from 'apache-arrow';
import { Client, Errors, Method, Output, RpcClientError, RpcConnection, Service, T, clientLog, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { StreamEncoder } from '../../src/wire/batch-encoder.js';
import { errorOf, readResponse, requestBytes, route } from '../support/raw-exchange.js';

const events: string[] = [];

const Streams = Service.define('Streams', {}, {
  ticks: Method.producer({ params: { count: T.int64 }, output: { n: T.int64, seen: T.utf8 } }),
  failing: Method.producer({ params: { after: T.int64 }, output: { n: T.int64 } }),
  bad_init: Method.producer({ params: {}, output: { n: T.int64 } }),
  forever: Method.producer({ params: {}, output: { n: T.int64 } }),
  headed: Method.producer({ params: {}, header: { label: T.utf8 }, output: { n: T.int64 } }),
  sum: Method.exchange({ params: {}, input: { a: T.float64, b: T.float64 }, output: { total: T.float64 } }),
  silent: Method.exchange({ params: {}, input: { a: T.float64 }, output: { a: T.float64 } }),
  last_in_turn: Method.producer({ params: {}, output: { n: T.int64 } }),
});

const tracked = (name: string) => Effect.acquireRelease(Effect.sync(() => events.push(`${name}:open`)), () => Effect.sync(() => events.push(`${name}:closed`)));

const StreamsLive = Streams.toLayer({
  ticks: ({ count }) => Effect.gen(function* () {
    yield* tracked('ticks');
    let n = 0n;
    return {
      produce: (tick) => Effect.gen(function* () {
        if (n >= count) return Output.done;
        yield* clientLog('DEBUG', `tick ${n}`, { n: Number(n) });
        const row = { n: n, seen: tick.metadata.get('app.tick') ?? '' };
        n++;
        return Output.rows([row], { 'app.batch': `b${row.n}`, 'app.note': 'é✓' });
      }),
    };
  }),
  failing: ({ after }) => Effect.gen(function* () {
    yield* tracked('failing');
    let n = 0n;
    return { produce: () => (n >= after ? Effect.fail(Errors.runtime(`boom after ${n}`)) : Effect.sync(() => Output.rows([{ n: n++ }]))) };
  }),
  bad_init: () => Effect.gen(function* () {
    yield* clientLog('INFO', 'about to fail');
    return yield* Effect.fail(Errors.value('intentional init error'));
  }),
  forever: () => Effect.gen(function* () {
    yield* tracked('forever');
    let n = 0n;
    return {
      produce: () => Effect.sync(() => Output.rows([{ n: n++ }])),
      onCancel: Effect.sync(() => { events.push('forever:onCancel'); }),
    };
  }),
  headed: () => Effect.gen(function* () {
    yield* clientLog('INFO', 'init log');
    let sent = false;
    return { header: { label: 'hello' }, produce: () => Effect.sync(() => (sent ? Output.done : ((sent = true), Output.rows([{ n: 7n }])))) };
  }),
  sum: () => Effect.succeed({
    exchange: (input) => Effect.sync(() => {
      const a = input.values('a');
      const b = input.values('b');
      return Output.rows(a.map((x, i) => ({ total: x + b[i]! })), { 'app.keys': [...input.metadata.keys()].join(',') });
    }),
  }),
  silent: () => Effect.succeed({ exchange: () => Effect.succeed(undefined as never) }),
  last_in_turn: () => Effect.sync(() => {
    let n = 0n;
    return { produce: () => Effect.sync(() => (n === 0n ? Output.rows([{ n: n++ }]) : Output.last(Output.rows([{ n: 99n }])))) };
  }),
});

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Streams], StreamsLive));
});
afterAll(() => dispose());

const connect = () => {
  const t = memoryConnect(dispatcher);
  const conn = new RpcConnection(t);
  return { t, conn, s: Client.promises(Streams, conn) };
};

describe('producer streams', () => {
  it('delivers tick metadata, per-emit metadata and logs, then releases the scope', async () => {
    events.length = 0;
    const { s } = connect();
    const logs: string[] = [];
    const stream = await s.ticks({ count: 2n }, { onLog: (l) => logs.push(`${l.level} ${l.message} ${JSON.stringify(l.extra)}`) });
    const b0 = await stream.tick({ 'app.tick': 'first' });
    expect(b0!.rows()).toEqual([{ n: 0n, seen: 'first' }]);
    expect(b0!.metadata.get('app.batch')).toBe('b0');
    expect(b0!.metadata.get('app.note')).toBe('é✓');
    const b1 = await stream.tick({ 'app.tick': 'second' });
    expect(b1!.rows()).toEqual([{ n: 1n, seen: 'second' }]);
    expect(await stream.tick()).toBeNull();
    expect(logs).toEqual(['DEBUG tick 0 {"n":0}', 'DEBUG tick 1 {"n":1}']);
    expect(events).toEqual(['ticks:open', 'ticks:closed']);
  });

  it('reports a mid-stream error after the batches before it, and the connection keeps serving', async () => {
    events.length = 0;
    const { s } = connect();
    const stream = await s.failing({ after: 2n });
    const seen: bigint[] = [];
    const err = await (async () => { for await (const b of stream) seen.push(...b.values('n')); })().catch((e: unknown) => e);
    expect(seen).toEqual([0n, 1n]);
    expect(err).toBeInstanceOf(RpcClientError);
    expect((err as RpcClientError).errorType).toBe('RuntimeError');
    expect((err as RpcClientError).message).toBe('boom after 2');
    expect(events).toEqual(['failing:open', 'failing:closed']);
    const again = await s.ticks({ count: 1n });
    expect((await again.tick())!.values('n')).toEqual([0n]);
    await again.close();
  });

  it('reports an init error (with its init logs) and stays usable', async () => {
    const { s } = connect();
    const logs: string[] = [];
    const stream = await s.bad_init({}, { onLog: (l) => logs.push(l.message) });
    const err = await stream.tick().catch((e: unknown) => e);
    expect((err as RpcClientError).errorType).toBe('ValueError');
    expect((err as RpcClientError).message).toBe('intentional init error');
    expect(logs).toEqual(['about to fail']);
    const ok = await s.ticks({ count: 0n });
    expect(await ok.tick()).toBeNull();
  });

  it('cancels: onCancel runs, no error is raised, the scope is released', async () => {
    events.length = 0;
    const { s } = connect();
    const stream = await s.forever({});
    expect((await stream.tick())!.values('n')).toEqual([0n]);
    await stream.cancel();
    expect(events).toEqual(['forever:open', 'forever:onCancel', 'forever:closed']);
    const next = await s.ticks({ count: 1n });
    expect((await next.tick())!.values('n')).toEqual([0n]);
    await next.close();
  });

  it('cancel before any input is answered with an empty output stream', async () => {
    const { t } = connect();
    await t.write(requestBytes(new A.Schema([]), [], 0, route('Streams', 'forever')));
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(new A.Schema([]));
    enc.writeSchema(out);
    enc.writeEmpty(out, new Map([[Keys.cancel, '1']]));
    enc.writeEos(out);
    await t.write(out);
    const r = await readResponse(t);
    expect(r.batches).toHaveLength(0);
    expect(r.schema.fields.map((f) => f.name)).toEqual(['n']);
  });

  it('writes the header stream with the init logs before the header row', async () => {
    const { s } = connect();
    const logs: string[] = [];
    const stream = await s.headed({}, { onLog: (l) => logs.push(l.message) });
    expect(stream.header).toEqual({ label: 'hello' });
    expect(logs).toEqual(['init log']);
    const rows = [];
    for await (const b of stream) rows.push(...b.values('n'));
    expect(rows).toEqual([7n]);
  });
});

describe('finishing with a last batch', () => {
  it('emits the last batch and ends the stream in the same turn', async () => {
    const { s } = connect();
    const stream = await s.last_in_turn({});
    const seen: bigint[] = [];
    for await (const b of stream) seen.push(...b.values('n'));
    expect(seen).toEqual([0n, 99n]);
  });
});

describe('exchange streams', () => {
  it('coerces reordered and int-typed input columns, and passes input metadata', async () => {
    const { t } = connect();
    await t.write(requestBytes(new A.Schema([]), [], 0, route('Streams', 'sum')));
    const schema = new A.Schema([new A.Field('b', new A.Int32(), true), new A.Field('a', new A.Float32(), true)]);
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(schema);
    enc.writeSchema(out);
    enc.writeColumns(out, 2, [T.int32.encode([10, 20]), T.float32.encode([0.5, 1.5])], new Map([['app.input', 'x']]));
    await t.write(out);
    const first = await t.frames.next();
    expect(first?.kind).toBe('schema');
    const batch = await t.frames.next();
    if (batch?.kind !== 'batch') throw new Error('expected a batch');
    expect([...(batch.batch.columns[0]!.values as Float64Array)]).toEqual([10.5, 21.5]);
    expect(batch.batch.meta('app.keys')).toBe('app.input');
    const end: Uint8Array[] = [];
    enc.writeEos(end);
    await t.write(end);
    expect((await t.frames.next())?.kind).toBe('eos');
  });

  it('refuses input whose field names differ, as a TypeError mid-stream', async () => {
    const { t } = connect();
    await t.write(requestBytes(new A.Schema([]), [], 0, route('Streams', 'sum')));
    const schema = new A.Schema([new A.Field('a', new A.Float64(), false), new A.Field('c', new A.Float64(), false)]);
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(schema);
    enc.writeSchema(out);
    enc.writeColumns(out, 1, [T.float64.encode([1]), T.float64.encode([2])]);
    enc.writeEos(out);
    await t.write(out);
    const r = await readResponse(t);
    expect(errorOf(r)?.type).toBe('TypeError');
    expect(errorOf(r)!.message).toContain('Input schema mismatch');
  });

  it('answers a turn that emits nothing with a RuntimeError', async () => {
    const { s } = connect();
    const ex = await s.silent({});
    const err = await ex.exchange({ _tag: 'rows', rows: [{ a: 1 }], metadata: undefined }).catch((e: unknown) => e);
    expect((err as RpcClientError).errorType).toBe('RuntimeError');
    expect((err as RpcClientError).message).toBe('No data batch was emitted');
  });
});

describe('client-side input', () => {
  it('casts an exchange input batch of other numeric types to the declared input', async () => {
    const { s } = connect();
    const ex = await s.sum({});
    const b = new A.RecordBatch({
      a: A.makeData({ type: new A.Int32(), length: 2, nullCount: 0, data: Int32Array.of(1, 2) }),
      b: A.makeData({ type: new A.Float32(), length: 2, nullCount: 0, data: Float32Array.of(0.5, 0.25) }),
    });
    const out = await ex.exchange(Output.batch(b));
    expect(out.values('total')).toEqual([1.5, 2.25]);
    await ex.close();
  });
});
