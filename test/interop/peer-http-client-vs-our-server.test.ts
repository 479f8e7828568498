/**
 * Interop, direction 1 over HTTP: the npm peer's CLIENT (`@query-farm/vgi-rpc`
 * 0.25.4, `httpConnect`) against OUR HTTP server. Build first: `npx tsc -p .`.
 *
 * Servers:
 * - the interop fixture (`dist/test/fixtures/interop-worker.js --http
 *   --workers 2`, protocols `Interop` 1.2.0 and `Bench`, engine chosen
 *   automatically: uWebSockets.js where it loads), and the same services
 *   started in-process with `startServer` on the node:http engine: the core
 *   blocks run against both;
 * - the interop fixture with `--response-compression off`, and with
 *   `--max-request-bytes 4096 --prefix /api`;
 * - the conformance worker (`dist/examples/conformance/worker.js --http`)
 *   with `--auth-reject-all`, two of them sharing one `--token-key` (a
 *   stream moving between processes), and one with two workers for the
 *   peer's sticky-session scope (open, resume, detach, DELETE on exit).
 *
 * Every request the peer makes goes through a recording `fetch` (the peer's
 * `fetch` option), which keeps a clone of each response, so the tests check
 * the wire as well as what the peer returns.
 *
 * The peer's limits, verified in its source (node_modules/@query-farm/vgi-rpc/src):
 * - It never encodes zstd on Node 20: `util/zstd.ts` loads `node:zlib`
 *   through `import.meta.require ?? globalThis.require` (absent in Node ESM)
 *   and needs `zstdCompressSync` (Node >= 22.15), so with `compressionLevel`
 *   every request fails in the client. The zstd tests give it what Node
 *   >= 22.15 has: a `globalThis.require` whose `node:zlib` carries
 *   `zstdCompressSync` (zstd-napi underneath) and no `zstdDecompressSync`, so
 *   it still decodes our zstd responses with fzstd, as on Node 20.
 * - Without `compressionLevel` it states `X-VGI-Accept-Encoding: gzip`, and
 *   Node's fetch adds its own `Accept-Encoding: gzip, deflate`: gzip is then
 *   in the standard header too, so (as the reference, `_middleware.py`
 *   `_pick_response_encoding`) the reply is labelled `Content-Encoding` and
 *   fetch undoes it. The custom label `X-VGI-Content-Encoding`, which the
 *   peer decodes itself, is reached by sending `Accept-Encoding: identity`.
 * - On a 413 (or any non-401 refusal with a plain-text body) it reads the
 *   body as Arrow IPC and fails with an untyped Error (`client/connect.ts`
 *   `call()` checks only 401); only the server's side is asserted there.
 * - `close()` of an HTTP stream is a no-op; `cancel()` posts one
 *   `/exchange` carrying `vgi_rpc.cancel`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as Layer from 'effect/Layer';
import * as A from '@query-farm/apache-arrow';
import { RpcError, httpConnect } from '@query-farm/vgi-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hosting } from '../../src/index.js';
import { surfaceOf } from '../../src/protocol/method-surface.js';
import { typeToken } from '../../src/types/type-tokens.js';
import type { MethodDef } from '../../src/service/method.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { type RunningServer, startServer } from '../../transports/server-entry.js';
import { Bench, BenchLive } from '../../examples/bench/bench-service.js';
import { Interop, InteropLive } from '../fixtures/interop-service.js';
import { staleOutputs } from '../support/stale-build.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const INTEROP_WORKER = path.resolve(HERE, '../../dist/test/fixtures/interop-worker.js');
const INTEROP_THREAD = new URL('../../dist/test/fixtures/interop-worker-thread.js', import.meta.url);
const CONFORMANCE_WORKER = path.resolve(HERE, '../../dist/examples/conformance/worker.js');

/** The peer's default response budget (native builds), which it states on every request. */
const PEER_DEFAULT_BUDGET = '268435456';

/**
 * The digests the PEER's server reports for its own Interop and Bench
 * definitions (our-client-vs-peer-server.test.ts checks them live; the same
 * constants as peer-client-vs-our-server.test.ts).
 */
const PEER_INTEROP_HASH = '67d9beaf453485de7b04d829d7570de7bb50233ece203033cb99deb15cd341b7';
const PEER_BENCH_HASH = 'ce73195a1d1edcfdd84ab1dafff81aaf591823f17f600a84d71fa86eb475381a';

type PeerClient = ReturnType<typeof httpConnect>;
interface PeerLog { level: string; message: string; extra?: Record<string, unknown> }

// ---------------------------------------------------------------- servers

/** A server the peer talks to. */
interface Served {
  readonly origin: string;
  /** Stop it; resolves with its exit code (0 expected) and what it wrote to stderr. */
  stop(): Promise<{ code: number | null; stderr: string }>;
}

/** The drain notice our server writes on SIGTERM (runtime/signals.ts). */
const DRAIN_NOTICE = 'vgi-rpc: SIGTERM received, draining (send it again to exit at once)';

/** Spawn a server CLI with `--http` plus `flags`; resolves once it printed `PORT:<n>`. */
const cliServer = async (script: string, flags: readonly string[]): Promise<Served> => {
  const child: ChildProcess = spawn(process.execPath, [script, '--http', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(null));
  });
  const m = line === null ? null : /^PORT:(\d+)$/.exec(line);
  if (m === null) {
    child.kill('SIGKILL');
    throw new Error(`${path.basename(script)} did not print PORT:<n> (got ${JSON.stringify(line)}): ${stderr.join('')}`);
  }
  return {
    origin: `http://127.0.0.1:${m[1]}`,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${path.basename(script)} did not exit within 15 s of SIGTERM: ${stderr.join('')}`);
      }
      return { code, stderr: stderr.join('') };
    },
  };
};

/** Interop and Bench served in this process by `startServer` on the node:http engine, with 2 worker threads. */
const inProcessNodeServer = async (): Promise<Served> => {
  const server: RunningServer = await startServer({
    services: [Interop, Bench],
    layer: Layer.merge(InteropLive, BenchLive),
    serverId: 'ours-interop',
    workerModule: INTEROP_THREAD,
    workers: 2,
    listen: { kind: 'http', host: '127.0.0.1', port: 0 },
    http: { engine: 'node' },
  });
  if (server.address.kind !== 'http') throw new Error(`expected an HTTP server, got ${server.address.kind}`);
  const origin = `http://127.0.0.1:${server.address.port}`;
  return {
    origin,
    stop: async () => {
      await server.drain();
      await server.stopped;
      return { code: 0, stderr: '' };
    },
  };
};

/** Start `start()` for the enclosing describe block and stop it after (exit 0, no stderr but the drain notice). */
const useServer = (start: () => Promise<Served>): (() => Served) => {
  let served: Served | undefined;
  beforeAll(async () => {
    served = await start();
  });
  afterAll(async () => {
    if (served === undefined) return;
    const { code, stderr } = await served.stop();
    expect(code).toBe(0);
    expect(stderr.split('\n').filter((l) => l !== '' && l !== DRAIN_NOTICE)).toEqual([]);
  });
  return () => {
    if (served === undefined) throw new Error('the server is not running');
    return served;
  };
};

beforeAll(() => {
  const stale = [...staleOutputs('test/fixtures/interop-worker.ts'), ...staleOutputs('test/fixtures/interop-worker-thread.ts'), ...staleOutputs('examples/conformance/worker.ts')];
  if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}: build first with \`npx tsc -p .\``);
});

// ---------------------------------------------------------------- the peer, recorded

/** One request the peer made and the response it got (a clone, readable after the peer read its own). */
interface Exchanged {
  readonly method: string;
  /** The port the request went to (after any rewrite). */
  readonly port: string;
  readonly path: string;
  readonly requestHeaders: Headers;
  readonly requestBodyBytes: number;
  readonly status: number;
  readonly headers: Headers;
  readonly response: Response;
}

/** A peer client whose every request is recorded in `wire`. */
interface Peer {
  readonly client: PeerClient;
  readonly wire: Exchanged[];
  readonly logs: PeerLog[];
}

const bodyBytes = (body: unknown): number =>
  body === undefined || body === null ? 0 : body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body) : -1;

/**
 * A peer `httpConnect` to `origin` with `options`; `rewrite` may change a
 * request's URL and headers before it is sent (a stand-in for what sits
 * between the peer and the server: a header-stripping transport, a load
 * balancer).
 */
const peer = (origin: string, options: Record<string, unknown> = {}, rewrite?: (url: URL, headers: Headers) => void): Peer => {
  const wire: Exchanged[] = [];
  const logs: PeerLog[] = [];
  const recording = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = new Headers(init?.headers);
    rewrite?.(url, headers);
    const response = await fetch(url, { ...init, headers });
    wire.push({
      method: init?.method ?? 'GET',
      port: url.port,
      path: url.pathname,
      requestHeaders: headers,
      requestBodyBytes: bodyBytes(init?.body),
      status: response.status,
      headers: response.headers,
      response: response.clone(),
    });
    return response;
  };
  const client = httpConnect(origin, { onLog: (m: PeerLog) => logs.push(m), ...options, fetch: recording });
  return { client, wire, logs };
};

/** The `vgi_rpc.request_id` of every log and error batch in a recorded response body. */
const logRequestIds = async (e: Exchanged): Promise<(string | undefined)[]> => {
  const ids: (string | undefined)[] = [];
  for (const reader of A.RecordBatchReader.readAll(new Uint8Array(await e.response.arrayBuffer()))) {
    for (const batch of reader) {
      if (batch.metadata.get('vgi_rpc.log_level') !== undefined) ids.push(batch.metadata.get('vgi_rpc.request_id'));
    }
  }
  return ids;
};

/** `METHOD path status` of each recorded request. */
const lines = (wire: readonly Exchanged[]): string[] => wire.map((e) => `${e.method} ${e.path} ${e.status}`);

/** Await a rejection from the peer client and return it as its RpcError. */
const peerFailure = async (p: Promise<unknown>): Promise<RpcError> => {
  const e = await p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`);
    },
    (err: unknown) => err,
  );
  if (!(e instanceof RpcError)) throw e instanceof Error ? e : new Error(String(e));
  return e;
};

const tokens = (s: { fields: readonly { name: string; nullable: boolean; type: unknown }[] }): string[] =>
  s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}:${typeToken(f.type as never)}`);

const ourHash = (svc: { name: string }): string => {
  const hosting = new Hosting([{ service: Interop, handlers: {} } as unknown as ServiceImpl, { service: Bench, handlers: {} } as unknown as ServiceImpl]);
  return hosting.bindings.get(svc.name)!.hash;
};

/** A stream session of the peer's HTTP client. */
type Session = Awaited<ReturnType<PeerClient['stream']>>;
const drain = async (s: Session): Promise<unknown[][]> => {
  const batches: unknown[][] = [];
  for await (const rows of s) batches.push(rows);
  return batches;
};

/** A one-row Point as the IPC stream the binary column carries. */
const pointIpc = (x: number, y: number): Uint8Array => {
  const schema = new A.Schema([new A.Field('x', new A.Float64(), false), new A.Field('y', new A.Float64(), false)]);
  return A.tableToIPC(new A.Table([new A.RecordBatch(schema, A.makeData({
    type: new A.Struct(schema.fields), length: 1, nullCount: 0,
    children: [new Float64Array([x]), new Float64Array([y])].map((data) => A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data })),
  }))]), 'stream');
};

/** `{value: float64 not null}` rows as an explicit batch. */
const valueBatch = (values: readonly number[]): A.RecordBatch => {
  const schema = new A.Schema([new A.Field('value', new A.Float64(), false)]);
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: values.length, nullCount: 0,
    children: [A.makeData({ type: new A.Float64(), length: values.length, nullCount: 0, data: Float64Array.from(values) })] }));
};

/** 64 KiB that compress well (period 256). */
const PAYLOAD = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);

// ---------------------------------------------------------------- the core blocks, on both engines

const SERVERS = [
  { label: 'the interop worker CLI (--http --workers 2, automatic engine)', start: () => cliServer(INTEROP_WORKER, ['--workers', '2']) },
  { label: 'startServer in-process (node:http engine, 2 workers)', start: inProcessNodeServer },
] as const;

describe.each(SERVERS)('peer httpConnect -> $label', ({ start }) => {
  const server = useServer(start);
  let main: Peer; // bootstrapped without naming a protocol
  beforeAll(() => {
    main = peer(server().origin);
  });

  /** The client still answers after an error. */
  const stillUsable = async (tag: string): Promise<void> => {
    expect(await main.client.call('echo_string', { value: `after ${tag}` })).toEqual({ result: `after ${tag}` });
  };

  describe('capability probe and Reflection bootstrap', () => {
    it('the first call costs HEAD /health (the capability probe), list_protocols and describe, then the call', async () => {
      const p = peer(server().origin);
      expect(await p.client.call('echo_string', { value: 'first' })).toEqual({ result: 'first' });
      expect(lines(p.wire)).toEqual([
        'HEAD /health 200',
        'POST /vgi_rpc.Reflection.v1/list_protocols 200',
        'POST /vgi_rpc.Reflection.v1/describe 200',
        'POST /Interop/echo_string 200',
      ]);
      const probe = p.wire[0]!;
      expect(probe.requestHeaders.get('VGI-Accept-Max-Response-Bytes')).toBe(PEER_DEFAULT_BUDGET);
      expect(probe.headers.get('VGI-Accept-Max-Response-Bytes-Support')).toBe('true');
      expect(probe.headers.get('VGI-Supported-Encodings')).toBe('zstd, gzip');
      expect(new Uint8Array(await probe.response.arrayBuffer())).toHaveLength(0);
      // Every response repeats the capability headers (the peer refuses one that does not) and carries a request id.
      for (const e of p.wire) {
        expect(e.headers.get('VGI-Accept-Max-Response-Bytes-Support'), `${e.method} ${e.path}`).toBe('true');
        expect(e.headers.get('X-Request-ID'), `${e.method} ${e.path}`).toMatch(/\S/);
      }
      for (const e of p.wire.slice(1)) {
        expect(e.requestHeaders.get('Content-Type')).toBe('application/vnd.apache.arrow.stream');
        expect(e.requestHeaders.get('VGI-Accept-Max-Response-Bytes')).toBe(PEER_DEFAULT_BUDGET);
        expect(e.headers.get('Content-Type')).toBe('application/vnd.apache.arrow.stream');
      }
    });

    it('capabilities() reads what our /health advertises', async () => {
      const caps = await main.client.capabilities();
      expect(caps).toMatchObject({
        acceptMaxResponseBytesSupport: true,
        supportedEncodings: ['zstd', 'gzip'],
        uploadUrlSupport: false,
        externalizationEnabled: false,
        stickyEnabled: false,
        maxRequestBytes: null,
      });
    });

    it('describe() lists our protocols, picks the first one and reports our hash and surface', async () => {
      const d = await main.client.describe();
      expect(d.hostedProtocols).toEqual(['Interop', 'Bench', 'vgi_rpc.Reflection.v1']);
      expect(d.protocolName).toBe('Interop');
      expect(d.protocolVersion).toBe('1.2.0');
      expect(d.serverId).toBe('ours-interop');
      expect(d.requestVersion).toBe('1');
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

    it('a client naming Bench skips list_protocols; describe reports our Bench hash', async () => {
      const p = peer(server().origin, { protocol: 'Bench' });
      const d = await p.client.describe();
      expect(lines(p.wire)).toEqual(['HEAD /health 200', 'POST /vgi_rpc.Reflection.v1/describe 200']);
      expect(d.protocolName).toBe('Bench');
      expect(d.protocolVersion).toBe('');
      expect(d.protocolHash).toBe(ourHash(Bench));
      expect(d.protocolHash).toBe(PEER_BENCH_HASH);
      expect(d.methods.map((m: { name: string; type: string; streamKind?: string }) => `${m.name}:${m.type}${m.streamKind ? `/${m.streamKind}` : ''}`).sort())
        .toEqual(['add:unary', 'double:stream/exchange', 'echo_bytes:unary', 'produce:stream/producer']);
      expect(await p.client.call('add', { a: 1.25, b: 2 })).toEqual({ result: 3.25 });
      expect(p.wire.at(-1)!.path).toBe('/Bench/add');
    });
  });

  describe('unary', () => {
    const call = (method: string, params?: Record<string, unknown>) => main.client.call(method, params);

    it('echoes strings, bytes, ints, floats and bools', async () => {
      expect(await call('echo_string', { value: 'héllo 🌍' })).toEqual({ result: 'héllo 🌍' });
      const b = await call('echo_bytes', { data: new Uint8Array([0, 1, 2, 255]) });
      expect(Array.from(b!.result as Uint8Array)).toEqual([0, 1, 2, 255]);
      expect(await call('echo_int', { value: 42 })).toEqual({ result: 42 });
      expect(await call('echo_int', { value: 2n ** 62n })).toEqual({ result: 2n ** 62n });
      expect(await call('echo_int', { value: -(2n ** 63n) })).toEqual({ result: -(2n ** 63n) });
      expect(await call('echo_float', { value: 3.14159 })).toEqual({ result: 3.14159 });
      expect(await call('echo_bool', { value: true })).toEqual({ result: true });
      expect(await call('echo_bool', { value: false })).toEqual({ result: false });
    });

    it('echoes lists, maps and enums, null items and values included', async () => {
      expect(Array.from((await call('echo_list', { values: ['a', null, 'c'] }))!.result as Iterable<string | null>)).toEqual(['a', null, 'c']);
      expect(Array.from((await call('echo_list', { values: [] }))!.result as Iterable<string>)).toEqual([]);
      const m = await call('echo_dict', { mapping: new Map([['a', null], ['b', 2]]) });
      expect([...(m!.result as Iterable<[string, unknown]>)].map(([k, v]) => [k, v === null ? null : Number(v)])).toEqual([['a', null], ['b', 2]]);
      for (const s of ['PENDING', 'ACTIVE', 'CLOSED']) expect(await call('echo_enum', { status: s })).toEqual({ result: s });
    });

    it('echoes optional strings, a Point record and timestamps', async () => {
      expect(await call('echo_optional_string', { value: 'x' })).toEqual({ result: 'x' });
      expect(await call('echo_optional_string', { value: null })).toEqual({ result: null });
      expect(await call('echo_optional_string', {})).toEqual({ result: null });
      const t = A.tableFromIPC((await call('echo_point', { point: pointIpc(1.5, -2.25) }))!.result as Uint8Array);
      expect([t.numRows, t.getChild('x')!.get(0), t.getChild('y')!.get(0)]).toEqual([1, 1.5, -2.25]);
      const ms = 1700000000123.456;
      expect(Math.abs(((await call('echo_timestamp', { value: ms }))!.result as number) - ms)).toBeLessThan(0.001);
      const d = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
      expect(await call('echo_timestamp', { value: new Date(d) })).toEqual({ result: d });
    });

    it('applies defaults for the parameters the peer sends as null; a void method returns null', async () => {
      expect(await call('with_defaults', { required: 7 })).toEqual({ result: 'required=7, optional_str=default, optional_int=42' });
      expect(await call('with_defaults', { required: 1, optional_str: 's', optional_int: 9 })).toEqual({ result: 'required=1, optional_str=s, optional_int=9' });
      expect(await call('void_noop')).toBeNull();
    });

    it('delivers client logs with their extras to onLog, before the call resolves', async () => {
      main.logs.length = 0;
      expect(await call('echo_with_info_log', { value: 'v1' })).toEqual({ result: 'v1' });
      expect(main.logs).toEqual([
        { level: 'INFO', message: 'info: v1', extra: { source: 'interop', detail: 'v1' } },
        { level: 'DEBUG', message: 'debug: v1', extra: { source: 'interop', detail: 'v1' } },
      ]);
      // Each log batch names the request id the response header carries (the reference's HTTP request id).
      const e = main.wire.at(-1)!;
      expect(await logRequestIds(e)).toEqual(Array(2).fill(e.headers.get('X-Request-ID')));
    });

    it('an X-Request-ID the client sends is echoed and stamped on the log batches', async () => {
      const p = peer(server().origin, { protocol: 'Interop' }, (_url, headers) => headers.set('X-Request-ID', 'peer-interop-req-0001'));
      expect(await p.client.call('echo_with_info_log', { value: 'id' })).toEqual({ result: 'id' });
      const e = p.wire.at(-1)!;
      expect(e.headers.get('X-Request-ID')).toBe('peer-interop-req-0001');
      expect(await logRequestIds(e)).toEqual(['peer-interop-req-0001', 'peer-interop-req-0001']);
    });
  });

  describe('errors', () => {
    it('raise_value_error: ValueError; the response is 200 with X-VGI-RPC-Error: true', async () => {
      main.wire.length = 0;
      const e = await peerFailure(main.client.call('raise_value_error', { message: 'boom' }));
      expect([e.errorType, e.errorMessage, e.message]).toEqual(['ValueError', 'boom', 'ValueError: boom']);
      expect(e.remoteTraceback).not.toBe('');
      expect(lines(main.wire)).toEqual(['POST /Interop/raise_value_error 200']);
      expect(main.wire[0]!.headers.get('X-VGI-RPC-Error')).toBe('true');
      await stillUsable('ValueError');
      expect(main.wire.at(-1)!.headers.get('X-VGI-RPC-Error')).toBeNull();
    });

    it('raise_with_kind: CustomKindError, and vgi_rpc.error_kind on the wire', async () => {
      main.wire.length = 0;
      const e = await peerFailure(main.client.call('raise_with_kind', { message: 'kinded' }));
      expect([e.errorType, e.errorMessage]).toEqual(['CustomKindError', 'kinded']);
      // The peer does not surface the kind: read it from the response body.
      const batches = [...A.RecordBatchReader.from(new Uint8Array(await main.wire[0]!.response.arrayBuffer()))];
      expect(batches).toHaveLength(1);
      const md = batches[0]!.metadata;
      expect(batches[0]!.numRows).toBe(0);
      expect(md.get('vgi_rpc.log_level')).toBe('EXCEPTION');
      expect(md.get('vgi_rpc.log_message')).toBe('CustomKindError: kinded');
      expect(md.get('vgi_rpc.error_kind')).toBe('custom_kind');
      expect(md.get('vgi_rpc.server_id')).toBe('ours-interop');
      expect(md.get('vgi_rpc.request_id')).toBe(main.wire[0]!.headers.get('X-Request-ID'));
      await stillUsable('CustomKindError');
    });

    it('echo_enum with a non-member is a ValueError from the handler', async () => {
      const e = await peerFailure(main.client.call('echo_enum', { status: 'BOGUS' }));
      expect([e.errorType, e.errorMessage]).toEqual(['ValueError', `'BOGUS' is not a valid Status (expected one of PENDING, ACTIVE, CLOSED)`]);
      await stillUsable('enum');
    });

    it('a reply over the budget the peer states (64 KiB) is ResponseTooLargeError, for a call and for a stream turn', async () => {
      const p = peer(server().origin, { protocol: 'Bench', acceptedMaxResponseBytes: 64 * 1024 });
      const big = new Uint8Array(100 * 1024);
      const e = await peerFailure(p.client.call('echo_bytes', { data: big }));
      expect(e.errorType).toBe('ResponseTooLargeError');
      expect(e.errorMessage).toMatch(/^HTTP body exceeds max_response_bytes \(\d+ > 65536\) for method 'echo_bytes'$/);
      const last = p.wire.at(-1)!;
      expect([last.status, last.headers.get('X-VGI-RPC-Error'), last.requestHeaders.get('VGI-Accept-Max-Response-Bytes')]).toEqual([200, 'true', '65536']);
      // A producer whose /init batch (10 000 rows of int64 + float64) is over the budget.
      const s = await peerFailure(p.client.stream('produce', { n_batches: 1, rows: 10_000 }));
      expect(s.errorType).toBe('ResponseTooLargeError');
      expect(s.errorMessage).toContain("for method 'produce'");
      expect(await p.client.call('add', { a: 1, b: 1 })).toEqual({ result: 2 });
      expect((await drain(await p.client.stream('produce', { n_batches: 2, rows: 100 }))).map((b) => b.length)).toEqual([100, 100]);
    });

    it('callRaw: our version gate, an unknown method (404) and a protocol mismatch (400) are typed errors', async () => {
      const schema = new A.Schema([new A.Field('value', new A.Utf8(), false)]);
      const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 1, nullCount: 0,
        children: [A.vectorFromArray(['raw!'], new A.Utf8()).data[0]!] }));
      const meta = (method: string, protocol: string, version?: string) => new Map([
        ['vgi_rpc.method', method], ['vgi_rpc.protocol', protocol], ['vgi_rpc.request_version', '1'],
        ...(version === undefined ? [] : [['vgi_rpc.protocol_version', version] as [string, string]]),
      ]);
      const ok = await main.client.callRaw('echo_string', { batch, metadata: meta('echo_string', 'Interop', '1.2.9') });
      expect(ok!.batch.getChild('result')!.get(0)).toBe('raw!');
      const version = await peerFailure(main.client.callRaw('echo_string', { batch, metadata: meta('echo_string', 'Interop') }));
      expect(version.errorType).toBe('ProtocolVersionError');
      expect(version.errorMessage).toContain('Client: <not declared>\n  Server: 1.2.0');

      main.wire.length = 0;
      const unknown = await peerFailure(main.client.callRaw('no_such_method', { batch, metadata: meta('no_such_method', 'Interop', '1.2.0') }));
      expect(unknown.errorType).toBe('MethodNotImplementedError');
      expect(unknown.errorMessage).toContain("Protocol 'Interop' has no method 'no_such_method'");
      // The batch names a protocol the path does not: the routing keys must agree.
      const mismatch = await peerFailure(main.client.callRaw('echo_string', { batch, metadata: meta('echo_string', 'Bench', '1.2.0') }));
      expect(mismatch.errorType).toBe('MethodNotImplementedError'); // /Bench/echo_string: Bench has no echo_string
      expect(lines(main.wire)).toEqual(['POST /Interop/no_such_method 404', 'POST /Bench/echo_string 404']);
      await stillUsable('callRaw');
    });
  });

  describe('streams', () => {
    const stream = (method: string, params?: Record<string, unknown>): Promise<Session> => main.client.stream(method, params);

    it('produce_n: one batch per request, /init included; count 0 ends at /init', async () => {
      main.wire.length = 0;
      const four = await drain(await stream('produce_n', { count: 4 }));
      expect(four).toEqual([0, 1, 2, 3].map((i) => [{ index: i, value: i * 10 }]));
      // /init produced batch 0; each /exchange produced one more; the last found the producer finished.
      expect(lines(main.wire)).toEqual(['POST /Interop/produce_n/init 200', ...Array(4).fill('POST /Interop/produce_n/exchange 200')]);
      main.wire.length = 0;
      expect(await drain(await stream('produce_n', { count: 0 }))).toEqual([]);
      expect(lines(main.wire)).toEqual(['POST /Interop/produce_n/init 200']);
    });

    it('produce_with_header: the header row from /init, then the rows', async () => {
      const s = await stream('produce_with_header', { count: 3 });
      expect(s.header).toEqual({ total_expected: 3, description: 'producing 3 batches' });
      expect((await drain(s)).flat()).toEqual([0, 1, 2].map((i) => ({ index: i, value: i * 10 })));
    });

    it('produce_error_mid_stream: the rows before the error, then RuntimeError', async () => {
      const rows: unknown[] = [];
      const s = await stream('produce_error_mid_stream', { emit_before_error: 2 });
      const e = await peerFailure((async () => {
        for await (const batch of s) rows.push(...batch);
      })());
      expect(rows).toEqual([{ index: 0, value: 0 }, { index: 1, value: 10 }]);
      expect([e.errorType, e.errorMessage]).toEqual(['RuntimeError', 'intentional error after 2 batches']);
      // The error came with the third request (a continuation), and names that request's id.
      const failed = main.wire.at(-1)!;
      expect(failed.path).toBe('/Interop/produce_error_mid_stream/exchange');
      expect(await logRequestIds(failed)).toEqual([failed.headers.get('X-Request-ID')]);
      await stillUsable('mid-stream error');
    });

    it('cancellable_producer: 5 ticks, then cancel() is one /exchange request; the token is then dead', async () => {
      main.wire.length = 0;
      const s = await stream('cancellable_producer');
      const out: unknown[] = [];
      for (let k = 0; k < 5; k++) out.push(...(await s.tick()));
      const before = main.wire.length;
      await s.cancel();
      expect(out).toEqual([0, 1, 2, 3, 4].map((index) => ({ index })));
      // The first tick was the batch /init carried; ticks 2..5 were continuations; cancel was one more.
      expect(lines(main.wire)).toEqual(['POST /Interop/cancellable_producer/init 200', ...Array(5).fill('POST /Interop/cancellable_producer/exchange 200')]);
      expect(main.wire.length - before).toBe(1);
      expect(await s.tick()).toEqual([]); // the peer: finished, nothing sent
      expect(main.wire.length - before).toBe(1);
      await stillUsable('cancel');
      // Breaking out of the iterator just stops asking (HTTP keeps nothing open).
      let n = 0;
      for await (const batch of await stream('cancellable_producer')) {
        n += batch.length;
        if (n >= 3) break;
      }
      expect(n).toBe(3);
      await stillUsable('break');
    });

    it('exchange_scale: one output batch per input batch over several round trips; close() sends nothing', async () => {
      main.wire.length = 0;
      const s = await stream('exchange_scale', { factor: 2.5 });
      const out = [await s.exchange([{ value: 2 }, { value: -1 }]), await s.exchange([{ value: 10 }]), await s.exchange(valueBatch([1, 2, 3]))];
      s.close();
      expect(out).toEqual([[{ value: 5 }, { value: -2.5 }], [{ value: 25 }], [{ value: 2.5 }, { value: 5 }, { value: 7.5 }]]);
      expect(lines(main.wire)).toEqual(['POST /Interop/exchange_scale/init 200', ...Array(3).fill('POST /Interop/exchange_scale/exchange 200')]);
    });

    it('exchange_accumulate: state carried across turns; cancel() before and after input', async () => {
      const s = await stream('exchange_accumulate');
      const acc = [];
      for (const v of [1, 2, 3.5, -0.5]) acc.push(await s.exchange([{ value: v }]));
      await s.cancel();
      expect(acc).toEqual([
        [{ running_sum: 1, exchange_count: 1 }],
        [{ running_sum: 3, exchange_count: 2 }],
        [{ running_sum: 6.5, exchange_count: 3 }],
        [{ running_sum: 6, exchange_count: 4 }],
      ]);
      await (await stream('exchange_accumulate')).cancel();
      await stillUsable('exchange cancel');
    });

    it('an exchange input with the wrong column is refused with TypeError (X-VGI-RPC-Error); the client stays usable', async () => {
      main.wire.length = 0;
      const s = await stream('exchange_scale', { factor: 2 });
      const e = await peerFailure(s.exchange([{ nope: 1 }]));
      expect(e.errorType).toBe('TypeError');
      expect(e.errorMessage).toMatch(/^Input schema mismatch: expected value: float64 not null, got nope: float64/);
      expect(main.wire.at(-1)!.headers.get('X-VGI-RPC-Error')).toBe('true');
      await stillUsable('exchange input error');
    });

    it('nextWithToken() then resumeStream() on a fresh client continues the producer where it stopped', async () => {
      const s = await stream('produce_n', { count: 5 });
      const first = await s.nextWithToken();
      const second = await s.nextWithToken();
      expect([first!.rows, second!.rows]).toEqual([[{ index: 0, value: 0 }], [{ index: 1, value: 10 }]]);
      expect(second!.token).toMatch(/^\d+:/); // the peer's packed cursor + call token
      const other = peer(server().origin, { protocol: 'Interop' });
      const resumed = await other.client.resumeStream('produce_n', second!.token);
      expect((await drain(resumed)).flat()).toEqual([2, 3, 4].map((i) => ({ index: i, value: i * 10 })));
      expect(lines(other.wire).slice(-4)).toEqual(Array(4).fill('POST /Interop/produce_n/exchange 200'));
    });
  });

  describe('Bench and concurrency', () => {
    it('add, echo_bytes (64 KiB), produce and double', async () => {
      const c = peer(server().origin, { protocol: 'Bench' }).client;
      expect(await c.call('add', { a: 1.25, b: 2 })).toEqual({ result: 3.25 });
      const eb = await c.call('echo_bytes', { data: PAYLOAD });
      expect(Buffer.compare(Buffer.from(eb!.result as Uint8Array), Buffer.from(PAYLOAD))).toBe(0);
      expect(await drain(await c.stream('produce', { n_batches: 3, rows: 4 }))).toEqual(Array.from({ length: 3 }, () => [0, 1, 2, 3].map((k) => ({ i: k, x: k * 0.5 }))));
      const d = await c.stream('double', { factor: 3 });
      expect([await d.exchange([{ x: 1 }, { x: 2.5 }]), await d.exchange([{ x: -4 }])]).toEqual([[{ x: 3 }, { x: 7.5 }], [{ x: -12 }]]);
    });

    it('six clients with interleaved exchange sessions and producers: each stream keeps its own state', async () => {
      const clients = Array.from({ length: 6 }, () => peer(server().origin, { protocol: 'Interop' }).client);
      const sessions = await Promise.all(clients.map((c) => c.stream('exchange_accumulate')));
      const producers = await Promise.all(clients.map((c, i) => c.stream('produce_n', { count: i + 1 })));
      const turns: string[] = [];
      for (let turn = 1; turn <= 4; turn++) {
        const out = await Promise.all(sessions.map((s, i) => s.exchange([{ value: i + 1 }])));
        turns.push(out.map((rows) => `${rows[0]!.running_sum}/${rows[0]!.exchange_count}`).join(' '));
      }
      expect(turns).toEqual([1, 2, 3, 4].map((t) => [1, 2, 3, 4, 5, 6].map((v) => `${v * t}/${t}`).join(' ')));
      const produced = await Promise.all(producers.map(async (s) => (await drain(s)).length));
      expect(produced).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
});

// ---------------------------------------------------------------- compression

/** What Node >= 22.15's node:zlib gives the peer: zstd compression (zstd-napi here), and no zstd decompression (so it uses fzstd). */
const withZstdEncoder = async <R>(body: (compressed: { count: number }) => Promise<R>): Promise<R> => {
  const require = createRequire(import.meta.url);
  const zstd = require('zstd-napi') as { compress(data: Uint8Array, params?: { compressionLevel?: number }): Buffer };
  const LEVEL = 100; // ZSTD_c_compressionLevel
  const compressed = { count: 0 };
  const zlib = {
    constants: { ZSTD_c_compressionLevel: LEVEL },
    zstdCompressSync: (data: Uint8Array, options: { params: Record<number, number> }) => {
      compressed.count += 1;
      return zstd.compress(data, { compressionLevel: options.params[LEVEL]! });
    },
  };
  const g = globalThis as { require?: (id: string) => unknown };
  const before = g.require;
  g.require = (id: string) => (id === 'node:zlib' ? zlib : require(id));
  try {
    return await body(compressed);
  } finally {
    if (before === undefined) delete g.require;
    else g.require = before;
  }
};

/** A header-stripping transport: no standard Accept-Encoding, so only the peer's X-VGI-Accept-Encoding negotiates. */
const identityOnly = (_url: URL, headers: Headers): void => {
  headers.set('Accept-Encoding', 'identity');
};

describe('peer httpConnect -> our server: compression', () => {
  const server = useServer(() => cliServer(INTEROP_WORKER, ['--workers', '2']));

  it('by default the peer accepts gzip: the reply is labelled Content-Encoding: gzip (fetch decodes it)', async () => {
    const p = peer(server().origin, { protocol: 'Interop' });
    const r = await p.client.call('echo_bytes', { data: PAYLOAD });
    expect(Buffer.compare(Buffer.from(r!.result as Uint8Array), Buffer.from(PAYLOAD))).toBe(0);
    const e = p.wire.at(-1)!;
    expect(e.requestHeaders.get('X-VGI-Accept-Encoding')).toBe('gzip');
    expect(e.requestHeaders.get('Content-Encoding')).toBeNull();
    expect([e.headers.get('Content-Encoding'), e.headers.get('X-VGI-Content-Encoding')]).toEqual(['gzip', null]);
    expect(Number(e.headers.get('Content-Length'))).toBeLessThan(PAYLOAD.length / 4);
  });

  it('gzip negotiated only through X-VGI-Accept-Encoding: labelled X-VGI-Content-Encoding; the peer gunzips it itself', async () => {
    const p = peer(server().origin, { protocol: 'Interop' }, identityOnly);
    const r = await p.client.call('echo_bytes', { data: PAYLOAD });
    expect(Buffer.compare(Buffer.from(r!.result as Uint8Array), Buffer.from(PAYLOAD))).toBe(0);
    const producer = await drain(await p.client.stream('produce_with_header', { count: 3 }));
    expect(producer.flat()).toEqual([0, 1, 2].map((i) => ({ index: i, value: i * 10 })));
    // Bodies under the server's COMPRESS_MIN_BYTES go plain; every other is gzip under the custom header only.
    for (const e of p.wire.filter((x) => x.method === 'POST')) {
      expect([e.path, e.headers.get('Content-Encoding')]).toEqual([e.path, null]);
      expect(['gzip', null]).toContain(e.headers.get('X-VGI-Content-Encoding'));
    }
    const echo = p.wire.find((x) => x.path === '/Interop/echo_bytes')!;
    expect(echo.headers.get('X-VGI-Content-Encoding')).toBe('gzip');
    const raw = new Uint8Array(await echo.response.arrayBuffer());
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]); // still gzip: nothing but the peer undid it
    expect(raw.length).toBeLessThan(PAYLOAD.length / 4);
  });

  it('zstd both ways (the peer with compressionLevel and a zstd encoder): our server decodes its zstd requests; it decodes our zstd replies with fzstd', async () => {
    await withZstdEncoder(async (compressed) => {
      const p = peer(server().origin, { protocol: 'Interop', compressionLevel: 3 });
      const r = await p.client.call('echo_bytes', { data: PAYLOAD });
      expect(Buffer.compare(Buffer.from(r!.result as Uint8Array), Buffer.from(PAYLOAD))).toBe(0);
      const s = await p.client.stream('exchange_accumulate');
      expect([await s.exchange([{ value: 1 }]), await s.exchange([{ value: 2 }])]).toEqual([
        [{ running_sum: 1, exchange_count: 1 }],
        [{ running_sum: 3, exchange_count: 2 }],
      ]);
      expect((await drain(await p.client.stream('produce_n', { count: 3 }))).flat()).toHaveLength(3);
      const posts = p.wire.filter((x) => x.method === 'POST');
      expect(compressed.count).toBe(posts.length); // every request body went through the encoder
      for (const e of posts) {
        expect([e.path, e.requestHeaders.get('Content-Encoding'), e.requestHeaders.get('X-VGI-Accept-Encoding')]).toEqual([e.path, 'zstd', 'zstd, gzip']);
        // Bodies under the server's COMPRESS_MIN_BYTES go plain; every other is zstd.
        expect([e.path, e.status]).toEqual([e.path, 200]);
        expect(['zstd', null]).toContain(e.headers.get('Content-Encoding'));
      }
      const echo = posts.find((x) => x.path === '/Interop/echo_bytes')!;
      expect(echo.headers.get('Content-Encoding')).toBe('zstd');
      expect(echo.requestBodyBytes).toBeLessThan(PAYLOAD.length / 4);
      const raw = new Uint8Array(await echo.response.arrayBuffer());
      expect(Array.from(raw.subarray(0, 4))).toEqual([0x28, 0xb5, 0x2f, 0xfd]); // a zstd frame: fetch left it alone
    });
  });

  it('zstd negotiated only through X-VGI-Accept-Encoding: labelled X-VGI-Content-Encoding: zstd', async () => {
    await withZstdEncoder(async () => {
      const p = peer(server().origin, { protocol: 'Interop', compressionLevel: 1 }, identityOnly);
      expect(await p.client.call('echo_string', { value: 'z'.repeat(10_000) })).toEqual({ result: 'z'.repeat(10_000) });
      const e = p.wire.at(-1)!;
      expect([e.headers.get('X-VGI-Content-Encoding'), e.headers.get('Content-Encoding')]).toEqual(['zstd', null]);
    });
  });

  it('the peer encodes zstd requests on Node 20 by itself', (ctx) => {
    ctx.skip('peer limitation (0.25.4, src/util/zstd.ts): zstdCompress needs node:zlib zstdCompressSync, loaded through import.meta.require ?? globalThis.require; Node 20 ESM has neither (and Node 20 zlib no zstd), so with compressionLevel every request fails in the client. Covered above with the Node >= 22.15 zlib API supplied');
  });

  describe('a server with response compression off', () => {
    const off = useServer(() => cliServer(INTEROP_WORKER, ['--workers', '1', '--response-compression', 'off']));

    it('advertises no encodings, answers uncompressed, and still decodes the peer\'s zstd and gzip-accepting requests', async () => {
      const plain = peer(off().origin, { protocol: 'Interop' });
      expect((await plain.client.capabilities()).supportedEncodings).toEqual([]);
      expect(await plain.client.call('echo_string', { value: 'plain' })).toEqual({ result: 'plain' });
      expect([plain.wire.at(-1)!.headers.get('Content-Encoding'), plain.wire.at(-1)!.headers.get('X-VGI-Content-Encoding')]).toEqual([null, null]);
      await withZstdEncoder(async (compressed) => {
        const z = peer(off().origin, { protocol: 'Interop', compressionLevel: 3 });
        const r = await z.client.call('echo_bytes', { data: PAYLOAD });
        expect(Buffer.compare(Buffer.from(r!.result as Uint8Array), Buffer.from(PAYLOAD))).toBe(0);
        expect(compressed.count).toBeGreaterThan(0);
        const e = z.wire.at(-1)!;
        expect([e.requestHeaders.get('Content-Encoding'), e.status, e.headers.get('Content-Encoding')]).toEqual(['zstd', 200, null]);
      });
    });
  });
});

// ---------------------------------------------------------------- budgets, caps, prefix

describe('peer httpConnect -> our server: request cap and prefix', () => {
  const server = useServer(() => cliServer(INTEROP_WORKER, ['--workers', '1', '--max-request-bytes', '4096', '--prefix', '/api']));

  it('the peer mounted at /api reaches every route there', async () => {
    const p = peer(server().origin, { prefix: '/api' });
    expect(await p.client.call('echo_string', { value: 'p' })).toEqual({ result: 'p' });
    expect((await drain(await p.client.stream('produce_n', { count: 2 }))).flat()).toHaveLength(2);
    expect(lines(p.wire)).toEqual([
      'HEAD /api/health 200',
      'POST /api/vgi_rpc.Reflection.v1/list_protocols 200',
      'POST /api/vgi_rpc.Reflection.v1/describe 200',
      'POST /api/Interop/echo_string 200',
      'POST /api/Interop/produce_n/init 200',
      'POST /api/Interop/produce_n/exchange 200',
      'POST /api/Interop/produce_n/exchange 200',
    ]);
    expect(p.wire[0]!.headers.get('VGI-Max-Request-Bytes')).toBe('4096');
  });

  it('a request over --max-request-bytes is refused with 413 and the capability headers; the server keeps serving', async () => {
    const p = peer(server().origin, { prefix: '/api', protocol: 'Interop' });
    // The peer reads the 413's plain-text body as Arrow IPC and fails untyped (its limitation, see the file comment).
    await expect(p.client.call('echo_bytes', { data: new Uint8Array(8192) })).rejects.toBeDefined();
    const refused = p.wire.at(-1)!;
    expect([refused.path, refused.status]).toEqual(['/api/Interop/echo_bytes', 413]);
    expect(refused.headers.get('VGI-Max-Request-Bytes')).toBe('4096');
    expect(refused.headers.get('VGI-Accept-Max-Response-Bytes-Support')).toBe('true');
    expect((await p.client.capabilities()).maxRequestBytes).toBe(4096);
    expect(await p.client.call('echo_string', { value: 'after 413' })).toEqual({ result: 'after 413' });
  });

  it('the peer raises a 413 as a typed error', (ctx) => {
    ctx.skip('peer limitation (0.25.4, src/client/connect.ts): call() checks only 401, then reads any body as Arrow IPC; without upload-URL support a 413 (plain text, as the reference and the peer\'s own server answer it) fails with an untyped Arrow read error');
  });
});

// ---------------------------------------------------------------- authentication

describe('peer httpConnect -> our server: authentication refused', () => {
  const server = useServer(() => cliServer(CONFORMANCE_WORKER, ['--workers', '1', '--auth-reject-all']));

  it('/health stays open; Reflection and calls are 401, which the peer raises as AuthenticationError', async () => {
    const p = peer(server().origin);
    const e = await peerFailure(p.client.describe());
    expect([e.errorType, e.errorMessage]).toEqual(['AuthenticationError', 'Authentication required']);
    const named = peer(server().origin, { protocol: 'ConformanceService' });
    const c = await peerFailure(named.client.call('echo_int', { value: 1 }));
    expect(c.errorType).toBe('AuthenticationError');
    expect(lines(p.wire)).toEqual(['HEAD /health 200', 'POST /vgi_rpc.Reflection.v1/list_protocols 401']);
    expect(lines(named.wire)).toEqual(['HEAD /health 200', 'POST /vgi_rpc.Reflection.v1/describe 401']);
    const refused = named.wire[1]!;
    // The reference's 401 contract: a reason header; WWW-Authenticate only with OAuth metadata configured.
    expect(refused.headers.get('VGI-Auth-Reason')).toBe('unauthorized');
    expect(refused.headers.get('WWW-Authenticate')).toBeNull();
    expect(refused.headers.get('VGI-Accept-Max-Response-Bytes-Support')).toBe('true');
  });
});

// ---------------------------------------------------------------- streams across processes

describe('peer httpConnect -> the conformance worker, two processes sharing a token key', () => {
  const KEY = 'ab'.repeat(32);
  const a = useServer(() => cliServer(CONFORMANCE_WORKER, ['--workers', '2', '--token-key', KEY]));
  const b = useServer(() => cliServer(CONFORMANCE_WORKER, ['--workers', '1', '--token-key', KEY]));

  it('a producer resumed on the other process from the peer\'s token continues from its cursor', async () => {
    const pa = peer(a().origin, { protocol: 'ConformanceService' });
    const s = await pa.client.stream('produce_n', { count: 5n });
    await s.nextWithToken();
    const second = await s.nextWithToken();
    const pb = peer(b().origin, { protocol: 'ConformanceService' });
    const resumed = await pb.client.resumeStream('produce_n', second!.token);
    expect((await drain(resumed)).flat()).toEqual([2, 3, 4].map((i) => ({ index: i, value: i * 10 })));
  });

  it('an exchange whose continuations move to the other process (a load balancer without affinity) keeps its declared state', async () => {
    let moved = false;
    const toB = (url: URL): void => {
      if (moved && url.pathname.endsWith('/exchange')) url.port = new URL(b().origin).port;
    };
    const p = peer(a().origin, { protocol: 'ConformanceService' }, toB);
    const s = await p.client.stream('exchange_accumulate');
    const out = [await s.exchange([{ value: 1 }]), await s.exchange([{ value: 2 }])];
    moved = true;
    out.push(await s.exchange([{ value: 4 }]), await s.exchange([{ value: 8 }]));
    expect(out.map((rows) => [rows[0]!.running_sum, rows[0]!.exchange_count])).toEqual([[1, 1], [3, 2], [7, 3], [15, 4]]);
    const ports = p.wire.filter((e) => e.path.includes('exchange_accumulate')).map((e) => `${e.path.split('/').pop()}@${e.port === new URL(b().origin).port ? 'b' : 'a'}`);
    expect(ports).toEqual(['init@a', 'exchange@a', 'exchange@a', 'exchange@b', 'exchange@b']);
  });

  it('stream turns with logs: each turn\'s log batches name that turn\'s own request id', async () => {
    const p = peer(a().origin, { protocol: 'ConformanceService' });
    const s = await p.client.stream('exchange_with_logs');
    await s.exchange([{ value: 1 }]);
    await s.exchange([{ value: 2 }]);
    const producer = await p.client.stream('produce_with_logs', { count: 2n });
    expect(await drain(producer)).toHaveLength(2);
    expect(p.logs.map((l) => l.level)).toEqual(['INFO', 'DEBUG', 'INFO', 'DEBUG', 'INFO', 'INFO']);
    const turns = p.wire.filter((e) => e.path.includes('_with_logs/'));
    expect(lines(turns)).toEqual([
      'POST /ConformanceService/exchange_with_logs/init 200',
      'POST /ConformanceService/exchange_with_logs/exchange 200',
      'POST /ConformanceService/exchange_with_logs/exchange 200',
      'POST /ConformanceService/produce_with_logs/init 200',
      'POST /ConformanceService/produce_with_logs/exchange 200',
      'POST /ConformanceService/produce_with_logs/exchange 200',
    ]);
    const ids = await Promise.all(turns.map(logRequestIds));
    expect(ids.map((x) => x.length)).toEqual([0, 2, 2, 1, 1, 0]);
    turns.forEach((e, i) => {
      for (const id of ids[i]!) expect(id, `${e.path} #${i}`).toBe(e.headers.get('X-Request-ID'));
    });
    expect(new Set(turns.map((e) => e.headers.get('X-Request-ID'))).size).toBe(turns.length);
  });

  it('an exchange with a header whose state is a closure: the header arrives; moved, its state is lost with a typed error', async () => {
    let moved = false;
    const p = peer(a().origin, { protocol: 'ConformanceService' }, (url) => {
      if (moved && url.pathname.endsWith('/exchange')) url.port = new URL(b().origin).port;
    });
    const s = await p.client.stream('exchange_with_header', { factor: 2 });
    expect(s.header).toEqual({ total_expected: 0, description: 'scale by 2.0' });
    expect(await s.exchange([{ value: 1 }, { value: 1.5 }])).toEqual([{ value: 2 }, { value: 3 }]);
    moved = true;
    const e = await peerFailure(s.exchange([{ value: 3 }]));
    expect(e.errorType).toBe('StreamStateLostError');
    expect(e.errorMessage).toContain("'exchange_with_header'");
  });
});

describe('peer httpConnect -> the conformance worker: sticky sessions', () => {
  const server = useServer(() => cliServer(CONFORMANCE_WORKER, ['--workers', '2']));
  const num = (row: Record<string, unknown> | null): number => Number(row?.result);

  it('the peer opens a session, resumes it in unary calls and a producer, and closes it', async () => {
    const p = peer(server().origin, { protocol: 'ConformanceService' });
    p.client.beginSession();
    expect(num(await p.client.call('open_counter', { initial: 7n }))).toBe(7);
    expect(p.client.currentSessionToken()).toBeTruthy();
    expect(p.client.currentEchoHeaders()).toEqual({ 'x-vgi-conformance-echo': 'conformance-fixed-marker' });
    expect(num(await p.client.call('increment_counter', { by: 3n }))).toBe(10);
    const produced = (await drain(await p.client.stream('stream_session_counter', { count: 2n }))).flat() as { value: unknown }[];
    expect(produced.map((r) => Number(r.value))).toEqual([11, 12]);
    expect(num(await p.client.call('close_counter'))).toBe(12);
    expect(p.client.currentSessionToken()).toBeNull();
    await p.client.endSession();
    const sent = p.wire.filter((e) => e.path.includes('counter'));
    expect(sent.every((e) => e.requestHeaders.get('VGI-Session-Accept') === 'true')).toBe(true);
    expect(sent.slice(1).every((e) => e.requestHeaders.get('VGI-Session') !== null)).toBe(true);
  });

  it('a detached token resumes in another peer client; its endSession deletes the session, which is then lost', async () => {
    const first = peer(server().origin, { protocol: 'ConformanceService' });
    first.client.beginSession();
    await first.client.call('open_counter', { initial: 1n });
    const token = first.client.detachSession();
    await first.client.endSession();
    expect(token).toBeTruthy();
    const second = peer(server().origin, { protocol: 'ConformanceService' });
    second.client.beginSession(token);
    expect(num(await second.client.call('increment_counter', { by: 1n }))).toBe(2);
    await second.client.endSession();
    const del = second.wire.find((e) => e.method === 'DELETE');
    expect([del?.path, del?.status]).toEqual(['/__session__', 204]);
    const third = peer(server().origin, { protocol: 'ConformanceService' });
    third.client.beginSession(token);
    const e = await third.client.call('increment_counter', { by: 1n }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).errorType).toBe('SessionLostError');
  });
});
