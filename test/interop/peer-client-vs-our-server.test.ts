/**
 * Interop, direction 1: the npm peer's CLIENT (`@query-farm/vgi-rpc` 0.25.4,
 * `pipeConnect`) against OUR stdio server (dist/test/fixtures/interop-worker.js,
 * hosting `Interop` 1.2.0 and `Bench`). Build first: `npx tsc -p .`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as A from '@query-farm/apache-arrow';
import { RpcError, pipeConnect } from '@query-farm/vgi-rpc';
import { staleOutputs } from '../support/stale-build.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hosting } from '../../src/index.js';
import { surfaceOf } from '../../src/protocol/method-surface.js';
import { typeToken } from '../../src/types/type-tokens.js';
import type { MethodDef } from '../../src/service/method.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { Interop } from '../fixtures/interop-service.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.resolve(HERE, '../../dist/test/fixtures/interop-worker.js');

type PeerClient = ReturnType<typeof pipeConnect>;
interface PeerLog { level: string; message: string; extra?: Record<string, unknown> }

/** One spawned worker with a peer client on its pipes; every stdout byte is also kept in `captured`. */
interface Worker {
  readonly child: ChildProcess;
  readonly client: PeerClient;
  readonly logs: PeerLog[];
  readonly captured: Buffer[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

const workers: Worker[] = [];

const startWorker = (protocol: string | undefined): Worker => {
  const child = spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const captured: Buffer[] = [];
  const stderr: string[] = [];
  const tee = new PassThrough();
  child.stdout!.on('data', (chunk: Buffer) => {
    captured.push(chunk);
    tee.write(chunk);
  });
  child.stdout!.on('end', () => tee.end());
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdin!.on('error', () => undefined);
  const logs: PeerLog[] = [];
  const client = pipeConnect(
    tee as unknown as Parameters<typeof pipeConnect>[0], // a Node Readable works too (peer-api.md)
    { write: (b: Uint8Array) => child.stdin!.write(b), end: () => child.stdin!.end() },
    protocol === undefined ? { onLog: (m: PeerLog) => logs.push(m) } : { protocol, onLog: (m: PeerLog) => logs.push(m) },
  );
  const w = { child, client, logs, captured, stderr, exited };
  workers.push(w);
  return w;
};

const capturedLength = (w: Worker): number => w.captured.reduce((n, c) => n + c.length, 0);

/** Await a rejection from the peer client and return it as its RpcError. */
const peerFailure = async (p: Promise<unknown>): Promise<RpcError> => {
  const e = await p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RpcError);
  return e as RpcError;
};

const tokens = (s: { fields: readonly { name: string; nullable: boolean; type: unknown }[] }): string[] =>
  s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}:${typeToken(f.type as never)}`);

const ourHash = (svc: { name: string }): string => {
  const hosting = new Hosting([{ service: Interop, handlers: {} } as unknown as ServiceImpl, { service: Bench, handlers: {} } as unknown as ServiceImpl]);
  return hosting.bindings.get(svc.name)!.hash;
};

/**
 * The digests the PEER's server (test/interop/peer-server.mjs) reports for its own Interop and
 * Bench definitions (our-client-vs-peer-server.test.ts checks them live). Our server must
 * report the same ones for our definitions.
 */
const PEER_INTEROP_HASH = '67d9beaf453485de7b04d829d7570de7bb50233ece203033cb99deb15cd341b7';
const PEER_BENCH_HASH = 'ce73195a1d1edcfdd84ab1dafff81aaf591823f17f600a84d71fa86eb475381a';

let main: Worker; // bootstrapped without naming a protocol
let bench: Worker; // bootstrapped with protocol: 'Bench'

beforeAll(() => {
  const stale = staleOutputs('test/fixtures/interop-worker.ts');
  if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}: build first with \`npx tsc -p .\``);
  main = startWorker(undefined);
  bench = startWorker('Bench');
});

afterAll(async () => {
  for (const w of workers) {
    w.client.close();
    const code = await Promise.race([w.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000))]);
    if (code === 'timeout') {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  }
});

/** The connection still answers after an error. */
const stillUsable = async (tag: string): Promise<void> => {
  expect(await main.client.call('echo_string', { value: `after ${tag}` })).toEqual({ result: `after ${tag}` });
};

describe('peer client -> our server: Reflection bootstrap', () => {
  it('describe() lists our protocols, picks the first one and reports our hash', async () => {
    const d = await main.client.describe();
    // Our server lists in registration order, then the framework protocol.
    expect(d.hostedProtocols).toEqual(['Interop', 'Bench', 'vgi_rpc.Reflection.v1']);
    expect(d.protocolName).toBe('Interop');
    expect(d.protocolVersion).toBe('1.2.0');
    expect(d.serverId).toBe('ours-interop');
    expect(d.requestVersion).toBe('1');
    expect(d.protocolHash).toMatch(/^[0-9a-f]{64}$/);
    expect(d.protocolHash).toBe(ourHash(Interop));
    expect(d.protocolHash).toBe(PEER_INTEROP_HASH);
    const ours = new Map(Object.entries(Interop.methods as Record<string, MethodDef>).map(([n, m]) => [n, surfaceOf(n, m)]));
    expect(d.methods.map((m: { name: string }) => m.name).sort()).toEqual([...ours.keys()].sort());
    for (const m of d.methods) {
      const o = ours.get(m.name)!;
      expect([m.name, m.type, m.streamKind ?? '', m.hasReturn]).toEqual([o.name, o.type, o.streamKind, o.hasReturn]);
      expect(tokens(m.paramsSchema)).toEqual(tokens(o.params));
      expect(tokens(m.resultSchema)).toEqual(o.hasReturn ? tokens(o.result!) : []);
      expect(m.headerSchema === undefined ? undefined : tokens(m.headerSchema)).toEqual(o.hasHeader ? tokens(o.header!) : undefined);
    }
  });

  it('describe() of Bench, named explicitly, reports our hash', async () => {
    const d = await bench.client.describe();
    expect(d.protocolName).toBe('Bench');
    expect(d.protocolVersion).toBe('');
    expect(d.protocolHash).toBe(ourHash(Bench));
    expect(d.protocolHash).toBe(PEER_BENCH_HASH);
    expect(d.methods.map((m: { name: string; type: string; streamKind?: string }) => `${m.name}:${m.type}${m.streamKind ? `/${m.streamKind}` : ''}`).sort())
      .toEqual(['add:unary', 'double:stream/exchange', 'echo_bytes:unary', 'produce:stream/producer']);
  });
});

describe('peer client -> our server: Interop unary', () => {
  const call = (method: string, params?: Record<string, unknown>) => main.client.call(method, params);

  it('echoes strings, bytes, ints, floats and bools', async () => {
    expect(await call('echo_string', { value: 'héllo 🌍' })).toEqual({ result: 'héllo 🌍' });
    const b = await call('echo_bytes', { data: new Uint8Array([0, 1, 2, 255]) });
    expect(b!.result).toBeInstanceOf(Uint8Array);
    expect(Array.from(b!.result as Uint8Array)).toEqual([0, 1, 2, 255]);
    expect(await call('echo_int', { value: 42 })).toEqual({ result: 42 });
    expect(await call('echo_int', { value: 2n ** 62n })).toEqual({ result: 2n ** 62n });
    expect(await call('echo_int', { value: -(2n ** 63n) })).toEqual({ result: -(2n ** 63n) });
    expect(await call('echo_float', { value: 3.14159 })).toEqual({ result: 3.14159 });
    expect(await call('echo_bool', { value: true })).toEqual({ result: true });
    expect(await call('echo_bool', { value: false })).toEqual({ result: false });
  });

  it('echoes lists, maps and enums', async () => {
    const l = await call('echo_list', { values: ['a', 'b', 'c'] });
    expect(Array.from(l!.result as Iterable<string>)).toEqual(['a', 'b', 'c']);
    const l0 = await call('echo_list', { values: [] });
    expect(Array.from(l0!.result as Iterable<string>)).toEqual([]);
    const m = await call('echo_dict', { mapping: new Map([['a', 1], ['b', 2]]) });
    expect([...(m!.result as Iterable<[string, unknown]>)].map(([k, v]) => [k, Number(v)])).toEqual([['a', 1], ['b', 2]]);
    for (const s of ['PENDING', 'ACTIVE', 'CLOSED']) expect(await call('echo_enum', { status: s })).toEqual({ result: s });
  });

  it('keeps null list items and null map values null', async () => {
    const l = await call('echo_list', { values: ['a', null, 'c'] });
    expect(Array.from(l!.result as Iterable<string | null>)).toEqual(['a', null, 'c']);
    const m = await call('echo_dict', { mapping: new Map([['a', null], ['b', 2]]) });
    expect([...(m!.result as Iterable<[string, unknown]>)].map(([k, v]) => [k, v === null ? null : Number(v)])).toEqual([['a', null], ['b', 2]]);
  });

  it('echoes optional strings (value, null, omitted), a Point and a timestamp', async () => {
    expect(await call('echo_optional_string', { value: 'x' })).toEqual({ result: 'x' });
    expect(await call('echo_optional_string', { value: null })).toEqual({ result: null });
    expect(await call('echo_optional_string', {})).toEqual({ result: null });
    const schema = new A.Schema([new A.Field('x', new A.Float64(), false), new A.Field('y', new A.Float64(), false)]);
    const point = A.tableToIPC(new A.Table([new A.RecordBatch(schema, A.makeData({
      type: new A.Struct(schema.fields), length: 1, nullCount: 0,
      children: [new Float64Array([1.5]), new Float64Array([-2.25])].map((data) => A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data })),
    }))]), 'stream');
    const p = await call('echo_point', { point });
    const t = A.tableFromIPC(p!.result as Uint8Array);
    expect([t.numRows, t.getChild('x')!.get(0), t.getChild('y')!.get(0)]).toEqual([1, 1.5, -2.25]);
    expect(t.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual(['x:Float64:false', 'y:Float64:false']);
    const ms = 1700000000123.456; // epoch ms; the fraction carries the microseconds
    const ts = await call('echo_timestamp', { value: ms });
    expect(Math.abs((ts!.result as number) - ms)).toBeLessThan(0.001);
    const d = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
    expect(await call('echo_timestamp', { value: new Date(d) })).toEqual({ result: d });
  });

  it('applies defaults for the parameters the peer sends as null', async () => {
    expect(await call('with_defaults', { required: 7 })).toEqual({ result: 'required=7, optional_str=default, optional_int=42' });
    expect(await call('with_defaults', { required: 1, optional_str: 's', optional_int: 9 })).toEqual({ result: 'required=1, optional_str=s, optional_int=9' });
  });

  it('calls a void method', async () => {
    expect(await call('void_noop')).toBeNull();
  });

  it('delivers client logs with extras to onLog', async () => {
    main.logs.length = 0;
    expect(await call('echo_with_info_log', { value: 'v1' })).toEqual({ result: 'v1' });
    expect(main.logs).toEqual([
      { level: 'INFO', message: 'info: v1', extra: { source: 'interop', detail: 'v1' } },
      { level: 'DEBUG', message: 'debug: v1', extra: { source: 'interop', detail: 'v1' } },
    ]);
  });
});

describe('peer client -> our server: errors', () => {
  it('raise_value_error: type and message; the connection stays usable', async () => {
    const e = await peerFailure(main.client.call('raise_value_error', { message: 'boom' }));
    expect([e.errorType, e.errorMessage, e.message]).toEqual(['ValueError', 'boom', 'ValueError: boom']);
    await stillUsable('ValueError');
  });

  it('raise_with_kind: CustomKindError with vgi_rpc.error_kind=custom_kind on the wire', async () => {
    await stillUsable('warm-up'); // no background drain can still be in flight
    const start = capturedLength(main);
    const e = await peerFailure(main.client.call('raise_with_kind', { message: 'kinded' }));
    expect([e.errorType, e.errorMessage]).toEqual(['CustomKindError', 'kinded']);
    // The peer client does not surface the kind: read it from the bytes of this response.
    const bytes = Buffer.concat(main.captured).subarray(start);
    const batches = [...A.RecordBatchReader.from(bytes)];
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    expect(b.numRows).toBe(0);
    expect(b.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['result:Utf8']);
    const md = b.metadata;
    expect(md.get('vgi_rpc.log_level')).toBe('EXCEPTION');
    expect(md.get('vgi_rpc.log_message')).toBe('CustomKindError: kinded');
    expect(md.get('vgi_rpc.error_kind')).toBe('custom_kind');
    expect(md.get('vgi_rpc.server_id')).toBe('ours-interop');
    const extra = JSON.parse(md.get('vgi_rpc.log_extra')!) as Record<string, unknown>;
    expect([extra.exception_type, extra.exception_message, extra.error_kind]).toEqual(['CustomKindError', 'kinded', 'custom_kind']);
    await stillUsable('CustomKindError');
  });

  it('echo_enum with a non-member is a ValueError from the handler', async () => {
    const e = await peerFailure(main.client.call('echo_enum', { status: 'BOGUS' }));
    expect([e.errorType, e.errorMessage]).toEqual(['ValueError', `'BOGUS' is not a valid Status (expected one of PENDING, ACTIVE, CLOSED)`]);
    await stillUsable('enum');
  });

  it('callRaw: a request without protocol_version is refused by our version gate', async () => {
    const schema = new A.Schema([new A.Field('value', new A.Utf8(), false)]);
    const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 1, nullCount: 0,
      children: [A.vectorFromArray(['raw!'], new A.Utf8()).data[0]!] }));
    const base: [string, string][] = [['vgi_rpc.method', 'echo_string'], ['vgi_rpc.protocol', 'Interop'], ['vgi_rpc.request_version', '1']];
    const ok = await main.client.callRaw('echo_string', { batch, metadata: new Map([...base, ['vgi_rpc.protocol_version', '1.2.9']]) });
    expect(ok!.batch.getChild('result')!.get(0)).toBe('raw!');
    const e = await peerFailure(main.client.callRaw('echo_string', { batch, metadata: new Map(base) }));
    expect(e.errorType).toBe('ProtocolVersionError');
    expect(e.errorMessage).toContain('Client: <not declared>\n  Server: 1.2.0');
    await stillUsable('version gate');
  });
});

// Stream tests read their stream to the end (or cancel it) before asserting, so a
// failed expectation never leaves the peer connection busy for the tests after it.
/** A pipe stream session (its `cancel()` is not on the peer's public StreamSession type). */
type Session = Awaited<ReturnType<PeerClient['stream']>> & { cancel(): Promise<void> };
const stream = (c: PeerClient, method: string, params?: Record<string, unknown>): Promise<Session> => c.stream(method, params) as Promise<Session>;
const using = async <R>(s: Session, body: (s: Session) => Promise<R>): Promise<R> => {
  try {
    return await body(s);
  } finally {
    await s.cancel(); // a no-op once the session has ended
  }
};
const drain = async (s: Session): Promise<unknown[][]> => {
  const batches: unknown[][] = [];
  for await (const rows of s) batches.push(rows);
  return batches;
};

describe('peer client -> our server: Interop streams', () => {
  it('produce_n: one row per tick, then the end', async () => {
    const four = await using(await stream(main.client, 'produce_n', { count: 4 }), drain);
    const none = await using(await stream(main.client, 'produce_n', { count: 0 }), drain);
    expect(four).toEqual([0, 1, 2, 3].map((i) => [{ index: i, value: i * 10 }]));
    expect(none).toEqual([]);
    await stillUsable('produce_n');
  });

  it('produce_with_header: the header row, then the rows', async () => {
    const s = await stream(main.client, 'produce_with_header', { count: 3 });
    const header = s.header;
    const rows = await using(s, drain);
    expect(header).toEqual({ total_expected: 3, description: 'producing 3 batches' });
    expect(rows.flat()).toEqual([0, 1, 2].map((i) => ({ index: i, value: i * 10 })));
    await stillUsable('produce_with_header');
  });

  it('produce_error_mid_stream: the rows before the error, then RuntimeError', async () => {
    const rows: unknown[] = [];
    const e = await peerFailure(using(await stream(main.client, 'produce_error_mid_stream', { emit_before_error: 2 }), async (s) => {
      for await (const batch of s) rows.push(...batch);
    }));
    expect(rows).toEqual([{ index: 0, value: 0 }, { index: 1, value: 10 }]);
    expect([e.errorType, e.errorMessage]).toEqual(['RuntimeError', 'intentional error after 2 batches']);
    await stillUsable('mid-stream error');
  });

  it('cancellable_producer: 5 ticks, cancel(), then a call on the same connection', async () => {
    const ticks = await using(await stream(main.client, 'cancellable_producer'), async (s) => {
      const out: unknown[] = [];
      for (let k = 0; k < 5; k++) out.push(...(await s.tick()));
      await s.cancel();
      return out;
    });
    expect(ticks).toEqual([0, 1, 2, 3, 4].map((index) => ({ index })));
    await stillUsable('cancel');
    // Stopping early by breaking out of the iterator closes the input; the connection stays usable.
    const seen = await using(await stream(main.client, 'cancellable_producer'), async (s) => {
      let n = 0;
      for await (const batch of s) {
        n += batch.length;
        if (n >= 3) break;
      }
      return n;
    });
    expect(seen).toBe(3);
    await stillUsable('break');
  });

  it('cancel() or close() before the first tick or input', async () => {
    await (await stream(main.client, 'cancellable_producer')).cancel();
    await stillUsable('cancel before tick');
    (await stream(main.client, 'produce_n', { count: 3 })).close();
    await stillUsable('close before tick');
    const s = await stream(main.client, 'produce_with_header', { count: 3 });
    const header = s.header;
    await s.cancel();
    expect(header).toEqual({ total_expected: 3, description: 'producing 3 batches' });
    await stillUsable('header, then cancel');
    await (await stream(main.client, 'exchange_accumulate')).cancel();
    await stillUsable('exchange cancel before input');
    (await stream(main.client, 'exchange_scale', { factor: 1 })).close();
    await stillUsable('exchange close before input');
  });

  it('exchange_scale: one output batch per input batch', async () => {
    const [o1, o2] = await using(await stream(main.client, 'exchange_scale', { factor: 2.5 }), async (s) => {
      const out = [await s.exchange([{ value: 2 }, { value: -1 }]), await s.exchange([{ value: 10 }])];
      s.close();
      return out;
    });
    expect(o1).toEqual([{ value: 5 }, { value: -2.5 }]);
    expect(o2).toEqual([{ value: 25 }]);
    await stillUsable('exchange_scale');
  });

  it('an exchange input with the wrong column is refused with TypeError; the connection stays usable', async () => {
    const e = await peerFailure(using(await stream(main.client, 'exchange_scale', { factor: 2 }), async (s) => s.exchange([{ nope: 1 }])));
    expect(e.errorType).toBe('TypeError');
    expect(e.errorMessage).toMatch(/^Input schema mismatch: expected value: float64 not null, got nope: float64/);
    await stillUsable('exchange input error');
  });

  it('exchange_accumulate: state carried across turns; an exact-schema RecordBatch input; cancel()', async () => {
    const acc = await using(await stream(main.client, 'exchange_accumulate'), async (s) => {
      const out = [await s.exchange([{ value: 1 }, { value: 2 }]), await s.exchange([{ value: 3.5 }]), await s.exchange([{ value: -0.5 }])];
      s.close();
      return out;
    });
    expect(acc).toEqual([
      [{ running_sum: 3, exchange_count: 1 }],
      [{ running_sum: 6.5, exchange_count: 2 }],
      [{ running_sum: 6, exchange_count: 3 }],
    ]);
    const schema = new A.Schema([new A.Field('value', new A.Float64(), false)]);
    const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 2, nullCount: 0,
      children: [A.makeData({ type: new A.Float64(), length: 2, nullCount: 0, data: new Float64Array([1, 2]) })] }));
    const scaled = await using(await stream(main.client, 'exchange_scale', { factor: 2 }), async (s) => s.exchange(batch));
    expect(scaled).toEqual([{ value: 2 }, { value: 4 }]);
    await stillUsable('exchange_accumulate');
  });
});

describe('peer client -> our server: Bench', () => {
  it('add, echo_bytes, produce and double', async () => {
    const c = bench.client;
    expect(await c.call('add', { a: 1.25, b: 2 })).toEqual({ result: 3.25 });
    const payload = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
    const eb = await c.call('echo_bytes', { data: payload });
    expect(Buffer.compare(Buffer.from(eb!.result as Uint8Array), Buffer.from(payload))).toBe(0);
    const batches = await using(await stream(c, 'produce', { n_batches: 3, rows: 4 }), drain);
    const doubled = await using(await stream(c, 'double', { factor: 3 }), async (d) => {
      const out = [await d.exchange([{ x: 1 }, { x: 2.5 }]), await d.exchange([{ x: -4 }])];
      d.close();
      return out;
    });
    expect(batches).toEqual(Array.from({ length: 3 }, () => [0, 1, 2, 3].map((k) => ({ i: k, x: k * 0.5 }))));
    expect(doubled).toEqual([[{ x: 3 }, { x: 7.5 }], [{ x: -12 }]]);
    expect(await c.call('add', { a: 1, b: 1 })).toEqual({ result: 2 });
  });
});

describe('peer client -> our server: clean shutdown', () => {
  it('the workers exit 0 when the peer client closes, with nothing on stderr', async () => {
    for (const w of [main, bench]) {
      w.client.close();
      expect(await w.exited).toBe(0);
      expect(w.stderr.join('')).toBe('');
    }
  });
});
