/**
 * Interop, direction 2: OUR client (RpcConnection over a spawned process,
 * typed clients built from our fixture definitions) against the npm peer's
 * server (test/interop/peer-server.mjs, `@query-farm/vgi-rpc` 0.25.4),
 * which hosts `Bench` and `Interop` 1.2.0 on one stdio connection.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client, Hosting, Method, Output, Reflection, RpcClientError, RpcConnection, Service, T, protocolHash,
  type ReceivedLog,
} from '../../src/index.js';
import { surfaceOf } from '../../src/protocol/method-surface.js';
import { typeToken } from '../../src/types/type-tokens.js';
import type { MethodDef } from '../../src/service/method.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { decodeOneStream } from '../../src/wire/stream-reader.js';
import { spawnServer, type SubprocessTransport } from '../../transports/pipe/subprocess-client.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { Interop, Point, STATUS_MEMBERS } from '../fixtures/interop-service.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PEER_SERVER = path.join(HERE, 'peer-server.mjs');

/** The Reflection.v1 hash pinned by the reference (protocol-delta §3.5). */
const REFLECTION_HASH = '3c7db4cae8cdfc93dc4a76e73b8b759e18e45e6a5811adba4e520366344b919a';

let transport: SubprocessTransport;
let conn: RpcConnection;
let interop: Client.PromiseClient<typeof Interop.methods>;
let bench: Client.PromiseClient<typeof Bench.methods>;
let reflection: Client.PromiseClient<typeof Reflection.methods>;
const stderr: string[] = [];

beforeAll(async () => {
  transport = await spawnServer(process.execPath, [PEER_SERVER], { onStderr: (line) => stderr.push(line) });
  conn = new RpcConnection(transport);
  interop = Client.promises(Interop, conn);
  bench = Client.promises(Bench, conn);
  reflection = Client.promises(Reflection, conn);
});

afterAll(async () => {
  const exited = transport.exited;
  await Promise.race([conn.close(), new Promise((r) => setTimeout(r, 3000))]);
  if (transport.child.exitCode === null && transport.child.signalCode === null) transport.child.kill('SIGKILL');
  await exited;
});

/** Await a rejection and return it as an RpcClientError. */
const failure = async (p: Promise<unknown>): Promise<RpcClientError> => {
  const e = await p.then(
    (v) => {
      throw new Error(`expected an error, got ${String(v)}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RpcClientError);
  return e as RpcClientError;
};

/** The connection still answers after an error. */
const stillUsable = async (tag: string): Promise<void> => {
  expect(await interop.echo_string({ value: `after ${tag}` })).toBe(`after ${tag}`);
};

const hashOf = (svc: { name: string; methods: Record<string, MethodDef> }): string =>
  protocolHash(svc.name, Object.entries(svc.methods).map(([n, m]) => surfaceOf(n, m)));

const fieldTokens = (s: { fields: readonly { name: string; nullable: boolean; type: unknown }[] }): string[] =>
  s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}:${typeToken(f.type as never)}`);

describe('our client -> peer server: Reflection', () => {
  it('list_protocols reports the hosted set and hashes equal to ours', async () => {
    const list = await reflection.list_protocols();
    expect(list.server_id).toBe('peer-interop');
    expect(list.request_version).toBe('1');
    // The peer lists by name (the newer spec wants registration order).
    expect(list.protocols.map((p) => p.protocol)).toEqual(['Bench', 'Interop', 'vgi_rpc.Reflection.v1']);
    const byName = new Map(list.protocols.map((p) => [p.protocol, p]));
    const interopSummary = byName.get('Interop')!;
    expect(interopSummary.protocol_version).toBe('1.2.0');
    expect(interopSummary.protocol_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(interopSummary.protocol_hash).toBe(hashOf(Interop));
    // Pinned in peer-client-vs-our-server.test.ts as PEER_INTEROP_HASH / PEER_BENCH_HASH.
    expect(interopSummary.protocol_hash).toBe('67d9beaf453485de7b04d829d7570de7bb50233ece203033cb99deb15cd341b7');
    expect(byName.get('Bench')!.protocol_hash).toBe('ce73195a1d1edcfdd84ab1dafff81aaf591823f17f600a84d71fa86eb475381a');
    expect(byName.get('Bench')!.protocol_version).toBe('');
    expect(byName.get('Bench')!.protocol_hash).toBe(hashOf(Bench));
    expect(byName.get('vgi_rpc.Reflection.v1')!.protocol_hash).toBe(REFLECTION_HASH);
    // Hosting computes the same digests for the same definitions.
    const hosting = new Hosting([{ service: Interop, handlers: {} } as unknown as ServiceImpl, { service: Bench, handlers: {} } as unknown as ServiceImpl]);
    expect(hosting.bindings.get('Interop')!.hash).toBe(interopSummary.protocol_hash);
    expect(hosting.bindings.get('Bench')!.hash).toBe(byName.get('Bench')!.protocol_hash);
    expect(hosting.bindings.get('vgi_rpc.Reflection.v1')!.hash).toBe(REFLECTION_HASH);
    for (const p of list.protocols) {
      expect(p.deprecated).toBe(false);
      expect(p.features).toEqual([]);
    }
  });

  it('describe(Interop) matches our definition method by method, schema by schema', async () => {
    const d = await reflection.describe({ protocol: 'Interop' });
    expect(d.protocol).toBe('Interop');
    expect(d.protocol_version).toBe('1.2.0');
    expect(d.protocol_hash).toBe(hashOf(Interop));
    const ours = Object.entries(Interop.methods as Record<string, MethodDef>).map(([n, m]) => surfaceOf(n, m));
    expect(d.methods.map((m) => m.name)).toEqual(ours.map((m) => m.name).sort());
    for (const m of d.methods) {
      const o = ours.find((x) => x.name === m.name)!;
      expect({ name: m.name, type: m.method_type, kind: m.stream_kind, ret: m.has_return, hdr: m.has_header })
        .toEqual({ name: o.name, type: o.type, kind: o.streamKind, ret: o.hasReturn, hdr: o.hasHeader });
      expect(fieldTokens(decodeOneStream(m.params_schema_ipc).schema)).toEqual(fieldTokens(o.params));
      if (o.hasReturn) expect(fieldTokens(decodeOneStream(m.result_schema_ipc).schema)).toEqual(fieldTokens(o.result!));
      else expect(m.result_schema_ipc.byteLength).toBe(0);
      if (o.hasHeader) expect(fieldTokens(decodeOneStream(m.header_schema_ipc).schema)).toEqual(fieldTokens(o.header!));
      else expect(m.header_schema_ipc.byteLength).toBe(0);
    }
    const wd = d.methods.find((m) => m.name === 'with_defaults')!;
    expect(fieldTokens(decodeOneStream(wd.params_schema_ipc).schema)).toEqual(['required:int64', 'optional_str:utf8', 'optional_int:int64']);
  });

  it('describe of an unhosted protocol is a ProtocolNotSupportedError; the connection stays usable', async () => {
    const e = await failure(reflection.describe({ protocol: 'Nope.v1' }));
    expect(e.errorType).toBe('ProtocolNotSupportedError');
    expect(e.errorKind).toBe('protocol_not_supported');
    expect(e.message).toBe(`This server does not host protocol 'Nope.v1'. Hosted: [Bench, Interop, vgi_rpc.Reflection.v1].`);
    await stillUsable('describe error');
  });
});

describe('our client -> peer server: Interop unary', () => {
  it('echoes strings, bytes, ints, floats and bools', async () => {
    expect(await interop.echo_string({ value: 'héllo 🌍' })).toBe('héllo 🌍');
    expect(await interop.echo_string({ value: '' })).toBe('');
    expect(Array.from(await interop.echo_bytes({ data: new Uint8Array([0, 1, 2, 255]) }))).toEqual([0, 1, 2, 255]);
    expect(await interop.echo_int({ value: 42n })).toBe(42n);
    expect(await interop.echo_int({ value: 2n ** 62n })).toBe(2n ** 62n);
    expect(await interop.echo_int({ value: -(2n ** 63n) })).toBe(-(2n ** 63n));
    expect(await interop.echo_float({ value: 3.14159 })).toBe(3.14159);
    expect(await interop.echo_float({ value: -0.5e-300 })).toBe(-0.5e-300);
    expect(await interop.echo_bool({ value: true })).toBe(true);
    expect(await interop.echo_bool({ value: false })).toBe(false);
  });

  it('echoes lists, maps and enums', async () => {
    expect(await interop.echo_list({ values: ['a', 'b', 'c'] })).toEqual(['a', 'b', 'c']);
    expect(await interop.echo_list({ values: [] })).toEqual([]);
    const m = await interop.echo_dict({ mapping: new Map([['a', 1n], ['b', -(2n ** 40n)]]) });
    expect(m).toBeInstanceOf(Map);
    expect([...m]).toEqual([['a', 1n], ['b', -(2n ** 40n)]]);
    expect([...(await interop.echo_dict({ mapping: new Map() }))]).toEqual([]);
    for (const s of STATUS_MEMBERS) expect(await interop.echo_enum({ status: s })).toBe(s);
  });

  it('keeps null list items and null map values null', async () => {
    // The item and value fields are nullable on the wire (list<item?: utf8>, map<..., value?: int64>).
    expect(await interop.echo_list({ values: ['a', null as unknown as string, 'c'] })).toEqual(['a', null, 'c']);
    expect([...(await interop.echo_dict({ mapping: new Map([['a', null as unknown as bigint], ['b', 2n]]) }))]).toEqual([['a', null], ['b', 2n]]);
  });

  it('echoes optional strings (value and null), a Point record and a timestamp', async () => {
    expect(await interop.echo_optional_string({ value: 'x' })).toBe('x');
    expect(await interop.echo_optional_string({ value: null })).toBeNull();
    expect(await interop.echo_optional_string({})).toBeNull();
    expect(await interop.echo_point({ point: { x: 1.5, y: -2.25 } })).toEqual({ x: 1.5, y: -2.25 });
    // Point's nested IPC is decodable on its own and has the declared schema.
    expect(Point.fromIpc(Point.toIpc({ x: 3, y: 4 }))).toEqual({ x: 3, y: 4 });
    expect(await interop.echo_timestamp({ value: 1_700_000_000_123_456n })).toBe(1_700_000_000_123_456n);
    expect(await interop.echo_timestamp({ value: -1n })).toBe(-1n);
  });

  it('applies defaults (our client fills them in) and passes given values through', async () => {
    expect(await interop.with_defaults({ required: 7n })).toBe('required=7, optional_str=default, optional_int=42');
    expect(await interop.with_defaults({ required: 1n, optional_str: 's', optional_int: 9n })).toBe('required=1, optional_str=s, optional_int=9');
  });

  it('calls a void method', async () => {
    expect(await interop.void_noop()).toBeUndefined();
  });

  it('receives client logs with extras before the result', async () => {
    const logs: ReceivedLog[] = [];
    expect(await interop.echo_with_info_log({ value: 'v1' }, { onLog: (l) => logs.push(l) })).toBe('v1');
    expect(logs.map((l) => [l.level, l.message, l.extra, l.serverId])).toEqual([
      ['INFO', 'info: v1', { source: 'interop', detail: 'v1' }, 'peer-interop'],
      ['DEBUG', 'debug: v1', { source: 'interop', detail: 'v1' }, 'peer-interop'],
    ]);
  });

  it('pipelines unary calls', async () => {
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => interop.echo_int({ value: BigInt(i) })));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
  });
});

describe('our client -> peer server: errors', () => {
  it('raise_value_error: type and bare message; the connection stays usable', async () => {
    const e = await failure(interop.raise_value_error({ message: 'boom' }));
    expect(e.errorType).toBe('ValueError');
    expect(e.message).toBe('boom');
    expect(e.summary).toBe('ValueError: boom');
    expect(e.errorKind).toBeUndefined();
    expect(e.serverId).toBe('peer-interop');
    expect(e.traceback).toContain('ValueError: boom');
    await stillUsable('ValueError');
  });

  it('raise_with_kind: vgi_rpc.error_kind=custom_kind reaches our client', async () => {
    const e = await failure(interop.raise_with_kind({ message: 'kinded' }));
    expect(e.errorType).toBe('CustomKindError');
    expect(e.message).toBe('kinded');
    expect(e.errorKind).toBe('custom_kind');
    await stillUsable('CustomKindError');
  });

  it('echo_enum with a non-member is the handler ValueError', async () => {
    const e = await failure(interop.echo_enum({ status: 'BOGUS' }));
    expect(e.errorType).toBe('ValueError');
    expect(e.message).toBe(`'BOGUS' is not a valid Status (expected one of PENDING, ACTIVE, CLOSED)`);
    await stillUsable('enum');
  });

  it('framework errors: version mismatch and unknown method carry their kinds', async () => {
    const Old = Service.define('Interop', { version: '1.1.0' }, { echo_string: Method.unary({ params: { value: T.utf8 }, result: T.utf8 }) });
    const e1 = await failure(Client.promises(Old, conn).echo_string({ value: 'x' }));
    expect(e1.errorType).toBe('ProtocolVersionError');
    expect(e1.errorKind).toBe('protocol_version_mismatch');
    expect(e1.message).toContain('Client: 1.1.0\n  Server: 1.2.0\n  Direction: client is too old');
    await stillUsable('version mismatch');
    const Wider = Service.define('Interop', { version: '1.2.5' }, { no_such_method: Method.unary({}) });
    const e2 = await failure(Client.promises(Wider, conn).no_such_method());
    expect(e2.errorType).toBe('MethodNotImplementedError');
    expect(e2.errorKind).toBe('method_not_implemented');
    expect(e2.message).toMatch(/^Protocol 'Interop' has no method 'no_such_method'\. Available: \[cancellable_producer, /);
    await stillUsable('unknown method');
  });
});

// Stream tests read their stream to the end (or cancel it) before asserting: an
// open session holds our connection, so a failed expectation would otherwise
// block every later call.
interface Cancellable { cancel(): Promise<void> }
const using = async <S extends Cancellable, R>(s: S, body: (s: S) => Promise<R>): Promise<R> => {
  try {
    return await body(s);
  } finally {
    await s.cancel(); // a no-op once the stream has ended
  }
};
const allRows = async <S extends Cancellable & AsyncIterable<{ rows(): unknown[] }>>(s: S): Promise<unknown[][]> => {
  const batches: unknown[][] = [];
  for await (const b of s) batches.push(b.rows());
  return batches;
};

describe('our client -> peer server: Interop streams', () => {
  it('produce_n: one row per tick, then the end', async () => {
    const four = await using(await interop.produce_n({ count: 4n }), allRows);
    const empty = await interop.produce_n({ count: 0n });
    const none = await using(empty, async (s) => s.tick());
    expect(four).toEqual([0n, 1n, 2n, 3n].map((i) => [{ index: i, value: i * 10n }]));
    expect(none).toBeNull();
    expect(empty.finished).toBe(true);
    await stillUsable('produce_n');
  });

  it('produce_with_header: the header row, then the rows', async () => {
    const s = await interop.produce_with_header({ count: 3n });
    const header = s.header;
    const rows = await using(s, allRows);
    expect(header).toEqual({ total_expected: 3n, description: 'producing 3 batches' });
    expect(rows).toEqual([0n, 1n, 2n].map((i) => [{ index: i, value: i * 10n }]));
    await stillUsable('produce_with_header');
  });

  it('produce_error_mid_stream: the rows before the error, then RuntimeError', async () => {
    const rows: unknown[] = [];
    const e = await failure(using(await interop.produce_error_mid_stream({ emit_before_error: 2n }), async (s) => {
      for await (const b of s) rows.push(...b.rows());
    }));
    expect(rows).toEqual([{ index: 0n, value: 0n }, { index: 1n, value: 10n }]);
    expect(e.errorType).toBe('RuntimeError');
    expect(e.message).toBe('intentional error after 2 batches');
    await stillUsable('mid-stream error');
  });

  it('cancellable_producer: ticks, cancel, then a call on the same connection', async () => {
    const s = await interop.cancellable_producer();
    const seen = await using(s, async () => {
      const out: bigint[] = [];
      for (let k = 0; k < 5; k++) out.push(...((await s.tick())?.values('index') ?? []));
      await s.cancel();
      return out;
    });
    expect(seen).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(s.finished).toBe(true);
    await stillUsable('cancel');
    // Cancel before any tick, and stopping early by breaking out of the loop.
    await (await interop.cancellable_producer()).cancel();
    await stillUsable('cancel before tick');
    const n = await using(await interop.cancellable_producer(), async (s3) => {
      let count = 0;
      for await (const b of s3) {
        count += b.numRows;
        if (count >= 3) break;
      }
      return count;
    });
    expect(n).toBe(3);
    await stillUsable('break');
  });

  it('close() before the first tick or input; a header stream cancelled before its first tick', async () => {
    await (await interop.produce_n({ count: 3n })).close();
    await stillUsable('close before tick');
    await (await interop.exchange_scale({ factor: 1 })).close();
    await stillUsable('exchange close before input');
    await (await interop.exchange_accumulate()).cancel();
    await stillUsable('exchange cancel before input');
    const s = await interop.produce_with_header({ count: 3n });
    const header = s.header;
    await s.cancel();
    expect(header).toEqual({ total_expected: 3n, description: 'producing 3 batches' });
    await stillUsable('header, then cancel');
  });

  it('exchange_scale: one output batch per input batch', async () => {
    const out = await using(await interop.exchange_scale({ factor: 2.5 }), async (s) => {
      const o = [
        (await s.exchange(Output.rows([{ value: 2 }, { value: -1 }]))).values('value'),
        (await s.exchange(Output.columns({ value: new Float64Array([10]) }))).values('value'),
      ];
      await s.close();
      return o;
    });
    expect(out).toEqual([[5, -2.5], [25]]);
    await stillUsable('exchange_scale');
  });

  it('an exchange input the server refuses ends the stream with its error; the connection stays usable', async () => {
    // Same protocol, but our side declares the input column under another name.
    const Skewed = Service.define('Interop', { version: '1.2.0' }, {
      exchange_scale: Method.exchange({ params: { factor: T.float64 }, input: { nope: T.float64 }, output: { value: T.float64 } }),
    });
    const s = await Client.promises(Skewed, conn).exchange_scale({ factor: 2 });
    const e = await failure(using(s, async () => s.exchange(Output.rows([{ nope: 1 }]))));
    expect(e.errorType).toBe('TypeError');
    expect(e.message).toBe(`Field name mismatch at index 0: expected 'value', got 'nope'`);
    expect(s.finished).toBe(true);
    await stillUsable('exchange input error');
  });

  it('exchange_accumulate: state carried across turns', async () => {
    const out = await using(await interop.exchange_accumulate(), async (s) => [
      (await s.exchange(Output.rows([{ value: 1 }, { value: 2 }]))).rows(),
      (await s.exchange(Output.rows([{ value: 3.5 }]))).rows(),
      (await s.exchange(Output.rows([{ value: -0.5 }]))).rows(),
    ]);
    expect(out).toEqual([
      [{ running_sum: 3, exchange_count: 1n }],
      [{ running_sum: 6.5, exchange_count: 2n }],
      [{ running_sum: 6, exchange_count: 3n }],
    ]);
    await stillUsable('exchange_accumulate');
  });
});

describe('our client -> peer server: Bench on the same connection', () => {
  it('add and echo_bytes', async () => {
    expect(await bench.add({ a: 1.25, b: 2 })).toBe(3.25);
    const payload = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
    expect(Buffer.compare(Buffer.from(await bench.echo_bytes({ data: payload })), Buffer.from(payload))).toBe(0);
  });

  it('produce(3, 4) and double(3)', async () => {
    const batches = await using(await bench.produce({ n_batches: 3n, rows: 4n }), allRows);
    const doubled = await using(await bench.double({ factor: 3 }), async (d) => {
      const o = [(await d.exchange(Output.rows([{ x: 1 }, { x: 2.5 }]))).values('x'), (await d.exchange(Output.rows([{ x: -4 }]))).values('x')];
      await d.close();
      return o;
    });
    expect(batches).toEqual(Array.from({ length: 3 }, () => [0, 1, 2, 3].map((k) => ({ i: BigInt(k), x: k * 0.5 }))));
    expect(doubled).toEqual([[3, 7.5], [-12]]);
    expect(await bench.add({ a: 1, b: 1 })).toBe(2);
  });

  it('the peer wrote nothing unexpected on stderr', () => {
    expect(stderr.filter((l) => /fatal|Error/.test(l))).toEqual([]);
  });
});
