/**
 * Interop over HTTP: OUR HTTP client (httpConnect, typed clients built from
 * our fixture definitions) against the npm peer's HTTP server
 * (`createHttpHandler` of `@query-farm/vgi-rpc` 0.25.4 hosted on node:http by
 * test/interop/peer-http-server.mjs; Bench, Interop 1.2.0 and Reflection).
 * A `fetch` wrapper records every exchange, so the tests also check what
 * went over the wire: routes, tokens, codecs.
 */
import * as Effect from 'effect/Effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client, HttpConnection, HttpError, Keys, Method, Output, Reflected, RpcClientError, Service, T, httpConnect, httpConnectScoped,
  type HttpConnectOptions, type ReceivedLog,
} from '../../src/index.js';
import { StreamReader } from '../../src/wire/stream-reader.js';
import { connect, open } from '../../transports/connect-entry.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { Interop } from '../fixtures/interop-service.js';
import { type PeerHttp, startPeerHttp } from '../support/http-stub.js';

let peer: PeerHttp;
/** Requests capped at 4 KiB (encoded and decoded). */
let requestCapped: PeerHttp;
/** Responses capped at 64 KiB; served under the prefix /vgi. */
let responseCapped: PeerHttp;

beforeAll(async () => {
  [peer, requestCapped, responseCapped] = await Promise.all([
    startPeerHttp(),
    startPeerHttp(['--max-request-bytes', '4096']),
    startPeerHttp(['--max-response-bytes', '65536', '--prefix', '/vgi']),
  ]);
});

afterAll(async () => {
  await Promise.all([peer?.stop(), requestCapped?.stop(), responseCapped?.stop()]);
});

/** One HTTP exchange as the client's fetch saw it. */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly requestHeaders: Headers;
  readonly requestBody: Uint8Array | undefined;
  readonly status: number;
  readonly responseHeaders: Headers;
}

/** A fetch that records what it sends and receives (bodies of requests only: responses stay streamed). */
const recordingFetch = (seen: Seen[], rewrite?: (headers: Headers) => void): typeof fetch =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    rewrite?.(headers);
    const response = await fetch(input, { ...init, headers });
    seen.push({
      method: init?.method ?? 'GET',
      path: new URL(String(input)).pathname,
      requestHeaders: headers,
      requestBody: init?.body instanceof Uint8Array ? init.body : undefined,
      status: response.status,
      responseHeaders: response.headers,
    });
    return response;
  }) as typeof fetch;

/** The batch metadata of every batch of a request body (one IPC stream). */
const requestMetadata = (body: Uint8Array): ReadonlyMap<string, string>[] => {
  const r = new StreamReader();
  r.push(body);
  r.end();
  const out: ReadonlyMap<string, string>[] = [];
  for (let f = r.read(); f !== null && f !== undefined; f = r.read()) if (f.kind === 'batch') out.push(f.batch.metadata ?? new Map());
  return out;
};

const connectTo = async (target: PeerHttp, seen: Seen[], options: HttpConnectOptions = {}) =>
  httpConnect(target.url, { fetch: recordingFetch(seen), retry: false, ...options });

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

describe('our HTTP client -> peer HTTP server: connecting', () => {
  it('probes HEAD /health first, announcing its response budget, and keeps the capabilities', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen, { maxResponseBytes: 1 << 20 });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['HEAD /health']);
    expect(seen[0]!.requestHeaders.get('VGI-Accept-Max-Response-Bytes')).toBe(String(1 << 20));
    expect(conn.capabilities.responseBudgetSupport).toBe(true);
    // The peer on Node produces gzip only (no zstd encoder there).
    expect(conn.capabilities.supportedEncodings).toEqual(['gzip']);
    expect(conn.capabilities.maxRequestBytes).toBeUndefined();
    expect((await connectTo(requestCapped, [])).capabilities.maxRequestBytes).toBe(4096);
    const prefixed: Seen[] = [];
    const cappedConn = await connectTo(responseCapped, prefixed);
    expect(cappedConn.capabilities.maxResponseBytes).toBe(65536);
    expect(cappedConn.responseLimit).toBe(65536);
    // The URL's path is the server's prefix.
    expect(await Client.promises(Interop, cappedConn).echo_string({ value: 'prefixed' })).toBe('prefixed');
    expect(prefixed.map((s) => `${s.method} ${s.path}`)).toEqual(['HEAD /vgi/health', 'POST /vgi/Interop/echo_string']);
  });

  it('open() and connect() take http:// URLs and { url } endpoints', async () => {
    const conn = await open(`${peer.url}/` as `http://${string}`);
    expect(conn).toBeInstanceOf(HttpConnection);
    expect(await Client.promises(Bench, conn).add({ a: 1, b: 2 })).toBe(3);
    await conn.close();
    const viaEffect = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const c = yield* connect({ url: peer.url, http: { retry: false } });
          return yield* Client.make(Interop, c).echo_string({ value: 'scoped' });
        }),
      ),
    );
    expect(viaEffect).toBe('scoped');
  });

  it('an unreachable server is a TransportError naming it', async () => {
    const e = await failure(httpConnect('http://127.0.0.1:1', { retry: false }));
    expect(e.errorType).toBe('TransportError');
    expect(e.message).toMatch(/cannot connect to http:\/\/127\.0\.0\.1:1/);
  });
});

describe('our HTTP client -> peer HTTP server: unary', () => {
  it('routes POST /{protocol}/{method} with the Arrow request and decodes results of many types', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen);
    const interop = Client.promises(Interop, conn);
    expect(await interop.echo_string({ value: 'héllo' })).toBe('héllo');
    expect(await interop.echo_int({ value: -(2n ** 40n) })).toBe(-(2n ** 40n));
    expect(await interop.echo_list({ values: ['a', '', 'c'] })).toEqual(['a', '', 'c']);
    expect(await interop.echo_optional_string({})).toBeNull();
    expect(await interop.with_defaults({ required: 7n })).toBe('required=7, optional_str=default, optional_int=42');
    expect(await interop.void_noop()).toBeUndefined();
    expect(await interop.echo_point({ point: { x: 1.5, y: -2 } })).toEqual({ x: 1.5, y: -2 });
    expect(await Client.promises(Bench, conn).add({ a: 0.5, b: 0.25 })).toBe(0.75);
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts.map((s) => s.path)).toEqual([
      '/Interop/echo_string', '/Interop/echo_int', '/Interop/echo_list', '/Interop/echo_optional_string',
      '/Interop/with_defaults', '/Interop/void_noop', '/Interop/echo_point', '/Bench/add',
    ]);
    for (const s of posts) {
      expect(s.requestHeaders.get('Content-Type')).toBe('application/vnd.apache.arrow.stream');
      expect(s.requestHeaders.get('X-VGI-Accept-Encoding')).toBe('zstd, gzip');
      expect(s.status).toBe(200);
    }
    const [md] = requestMetadata(posts[0]!.requestBody!);
    expect(md!.get(Keys.method)).toBe('echo_string');
    expect(md!.get(Keys.protocol)).toBe('Interop');
    expect(md!.get(Keys.protocolVersion)).toBe('1.2.0');
  });

  it('delivers server logs to onLog, each with the request id', async () => {
    const conn = await connectTo(peer, []);
    const logs: ReceivedLog[] = [];
    expect(await Client.promises(Interop, conn).echo_with_info_log({ value: 'v' }, { onLog: (l) => logs.push(l) })).toBe('v');
    expect(logs.map((l) => [l.level, l.message])).toEqual([['INFO', 'info: v'], ['DEBUG', 'debug: v']]);
    expect(logs[0]!.extra).toMatchObject({ source: 'interop', detail: 'v' });
    expect(logs[0]!.requestId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a handler error is an RpcClientError (200 + X-VGI-RPC-Error), with kind and request id; the connection stays usable', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen, { requestId: () => 'req-under-test' });
    const interop = Client.promises(Interop, conn);
    const e = await failure(interop.raise_value_error({ message: 'bad value' }));
    expect(e).not.toBeInstanceOf(HttpError);
    expect([e.errorType, e.message, e.local]).toEqual(['ValueError', 'bad value', false]);
    expect(e.requestId).toBe('req-under-test');
    const last = seen.at(-1)!;
    expect(last.requestHeaders.get('X-Request-ID')).toBe('req-under-test');
    expect(last.responseHeaders.get('X-Request-ID')).toBe('req-under-test');
    expect(last.responseHeaders.get('X-VGI-RPC-Error')).toBe('true');
    const k = await failure(interop.raise_with_kind({ message: 'kinded' }));
    expect([k.errorType, k.errorKind]).toEqual(['CustomKindError', 'custom_kind']);
    expect(await interop.echo_string({ value: 'after' })).toBe('after');
  });

  it('an unknown method is an HttpError 404 carrying the server error; an unknown protocol too', async () => {
    const conn = await connectTo(peer, []);
    const Unknown = Service.define('Interop', { version: '1.2.0' }, { no_such_method: Method.unary({ result: T.utf8 }) });
    const e = await failure(Client.promises(Unknown, conn).no_such_method());
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).status).toBe(404);
    expect(e.message).toMatch(/no_such_method/);
    expect(e.requestId).toMatch(/^[0-9a-f]{16}$/);
    const Elsewhere = Service.define('NoSuchProtocol', {}, { echo: Method.unary({ result: T.utf8 }) });
    const p = await failure(Client.promises(Elsewhere, conn).echo());
    expect((p as HttpError).status).toBe(404);
  });

  it('a wrong media type is an HttpError 415 (UnsupportedMediaTypeError)', async () => {
    const conn = await connectTo(peer, [], { headers: { 'Content-Type': 'text/plain' } });
    const e = await failure(Client.promises(Interop, conn).echo_string({ value: 'x' }));
    expect([e.errorType, (e as HttpError).status]).toEqual(['UnsupportedMediaTypeError', 415]);
    expect(e.message).toMatch(/HTTP 415: Unsupported Media Type/);
  });

  it('a request over the server cap is an HttpError 413 (RequestTooLargeError)', async () => {
    const conn = await connectTo(requestCapped, []);
    const e = await failure(Client.promises(Interop, conn).echo_bytes({ data: new Uint8Array(10_000) }));
    expect([e.errorType, (e as HttpError).status]).toEqual(['RequestTooLargeError', 413]);
    expect(await Client.promises(Interop, conn).echo_string({ value: 'small' })).toBe('small');
  });

  it('gzips request bodies from the configured size when the server takes gzip', async () => {
    const seen: Seen[] = [];
    const data = new TextEncoder().encode('compressible '.repeat(800));
    const conn = await connectTo(peer, seen, { compressRequestsFrom: 1024 });
    expect(await Client.promises(Interop, conn).echo_bytes({ data })).toEqual(data);
    const sent = seen.at(-1)!;
    expect(sent.requestHeaders.get('Content-Encoding')).toBe('gzip');
    expect(sent.requestBody!.byteLength).toBeLessThan(data.byteLength / 4);
    expect(await Client.promises(Interop, conn).echo_string({ value: 'short' })).toBe('short');
    expect(seen.at(-1)!.requestHeaders.get('Content-Encoding')).toBeNull();
  });

  it('a response over the server cap is the server ResponseTooLargeError', async () => {
    const conn = await connectTo(responseCapped, []);
    const big = await failure(Client.promises(Interop, conn).echo_string({ value: 'x'.repeat(70_000) }));
    expect([big.errorType, big.local]).toEqual(['ResponseTooLargeError', false]);
    expect(big.message).toMatch(/65536/);
    expect(await Client.promises(Interop, conn).echo_string({ value: 'small' })).toBe('small');
  });

  it('a response over the client budget fails locally with ResponseTooLargeError when a server ignores the budget', async () => {
    const seen: Seen[] = [];
    // Drop the budget header on the way out, so the server answers in full.
    const conn = await httpConnect(peer.url, {
      retry: false,
      maxResponseBytes: 65536,
      fetch: recordingFetch(seen, (h) => h.delete('VGI-Accept-Max-Response-Bytes')),
      headers: { 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' },
    });
    const e = await failure(Client.promises(Interop, conn).echo_bytes({ data: new Uint8Array(100_000).fill(7) }));
    expect([e.errorType, e.local]).toEqual(['ResponseTooLargeError', true]);
    expect(e.message).toMatch(/65536.*echo_bytes/);
    expect(await Client.promises(Interop, conn).echo_string({ value: 'small' })).toBe('small');
  });
});

describe('our HTTP client -> peer HTTP server: compressed responses', () => {
  const payload = new TextEncoder().encode('a fairly compressible payload, '.repeat(4000));

  it('gzip under Content-Encoding (the standard header: fetch undoes it)', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen);
    expect(await Client.promises(Interop, conn).echo_bytes({ data: payload })).toEqual(payload);
    const last = seen.at(-1)!;
    expect(last.requestHeaders.get('Accept-Encoding')).toBe('zstd, gzip');
    expect(last.responseHeaders.get('Content-Encoding')).toBe('gzip');
    expect(last.responseHeaders.get('X-VGI-Content-Encoding')).toBeNull();
  });

  it('gzip under X-VGI-Content-Encoding (offered only on the custom header, as from a browser): decoded by the client', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen, { headers: { 'Accept-Encoding': 'identity' } });
    expect(await Client.promises(Interop, conn).echo_bytes({ data: payload })).toEqual(payload);
    const last = seen.at(-1)!;
    expect(last.responseHeaders.get('X-VGI-Content-Encoding')).toBe('gzip');
    expect(last.responseHeaders.get('Content-Encoding')).toBeNull();
    // Streams too.
    const s = await Client.promises(Interop, conn).produce_n({ count: 2n });
    const rows = [];
    for await (const b of s) rows.push(...b.rows());
    expect(rows).toEqual([{ index: 0n, value: 0n }, { index: 1n, value: 10n }]);
  });
});

describe('our HTTP client -> peer HTTP server: streams', () => {
  it('a producer runs one turn per request: /init, then /exchange echoing both tokens, until no cursor comes back', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen);
    const session = await Client.promises(Interop, conn).produce_n({ count: 4n });
    const rows: unknown[] = [];
    for await (const b of session) {
      rows.push(...b.rows());
      expect(b.metadata.has(Keys.streamState)).toBe(false);
    }
    expect(rows).toEqual([0n, 1n, 2n, 3n].map((i) => ({ index: i, value: i * 10n })));
    expect(session.finished).toBe(true);
    const posts = seen.filter((s) => s.method === 'POST');
    // /init produces the first batch; 3 more turns produce the rest; the 4th continuation finds the end.
    expect(posts.map((s) => s.path)).toEqual(['/Interop/produce_n/init', ...Array(4).fill('/Interop/produce_n/exchange')]);
    const ticks = posts.slice(1).map((s) => requestMetadata(s.requestBody!)[0]!);
    const callTokens = new Set(ticks.map((t) => t.get(Keys.callState)));
    expect(callTokens.size).toBe(1);
    expect([...callTokens][0]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const cursors = ticks.map((t) => t.get(Keys.streamState));
    expect(new Set(cursors).size).toBe(4);
  });

  it('tick() reads the /init batch first; tick metadata reaches later turns (and is refused before)', async () => {
    const conn = await connectTo(peer, []);
    const session = await Client.promises(Interop, conn).produce_n({ count: 3n });
    await expect(session.tick({ 'x.y': 'z' })).rejects.toMatchObject({ errorType: 'ProtocolError', message: expect.stringMatching(/first turn runs at \/init/) });
    expect((await session.tick())!.rows()).toEqual([{ index: 0n, value: 0n }]);
    expect((await session.tick({ 'x.y': 'z' }))!.rows()).toEqual([{ index: 1n, value: 10n }]);
    expect((await session.tick())!.rows()).toEqual([{ index: 2n, value: 20n }]);
    expect(await session.tick()).toBeNull();
    expect(await session.tick()).toBeNull();
    expect(session.finished).toBe(true);
  });

  it('a stream header arrives with the open', async () => {
    const conn = await connectTo(peer, []);
    const session = await Client.promises(Interop, conn).produce_with_header({ count: 2n });
    expect(session.header).toEqual({ total_expected: 2n, description: 'producing 2 batches' });
    const rows = [];
    for await (const b of session) rows.push(...b.rows());
    expect(rows).toHaveLength(2);
  });

  it('an exchange makes one round trip per input, the cursor riding its output batch', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen);
    const session = await Client.promises(Interop, conn).exchange_accumulate();
    const outs = [];
    for (const v of [1.5, 2.5, 6]) outs.push((await session.exchange(Output.rows([{ value: v }], { 'app.key': `v${v}` }))).rows()[0]);
    expect(outs).toEqual([
      { running_sum: 1.5, exchange_count: 1n },
      { running_sum: 4, exchange_count: 2n },
      { running_sum: 10, exchange_count: 3n },
    ]);
    await session.close();
    const turns = seen.filter((s) => s.path === '/Interop/exchange_accumulate/exchange').map((s) => requestMetadata(s.requestBody!)[0]!);
    expect(turns).toHaveLength(3);
    for (const [i, md] of turns.entries()) {
      expect(md.get('app.key')).toBe(`v${[1.5, 2.5, 6][i]}`);
      expect(md.get(Keys.streamState)).toBeDefined();
      expect(md.get(Keys.callState)).toBeDefined();
    }
    expect(new Set(turns.map((md) => md.get(Keys.streamState))).size).toBe(3);
    // exchange_scale, with columns
    const scale = await Client.promises(Interop, conn).exchange_scale({ factor: 3 });
    expect((await scale.exchange(Output.columns({ value: [1, 2] }))).values('value')).toEqual([3, 6]);
    expect((await scale.exchange(Output.columns({ value: [10] }))).values('value')).toEqual([30]);
    await scale.close();
    await expect(scale.exchange(Output.columns({ value: [1] }))).rejects.toMatchObject({ errorType: 'ProtocolError' });
  });

  it('cancel sends vgi_rpc.cancel with both tokens; the stream is then finished', async () => {
    const seen: Seen[] = [];
    const conn = await connectTo(peer, seen);
    const session = await Client.promises(Interop, conn).cancellable_producer();
    expect((await session.tick())!.rows()).toEqual([{ index: 0n }]);
    expect((await session.tick())!.rows()).toEqual([{ index: 1n }]);
    await session.cancel();
    expect(session.finished).toBe(true);
    expect(await session.tick()).toBeNull();
    const cancel = seen.at(-1)!;
    expect(cancel.path).toBe('/Interop/cancellable_producer/exchange');
    expect(cancel.status).toBe(200);
    const md = requestMetadata(cancel.requestBody!)[0]!;
    expect(md.get(Keys.cancel)).toBe('1');
    expect(md.get(Keys.streamState)).toBeDefined();
    expect(md.get(Keys.callState)).toBeDefined();
    const before = seen.length;
    await session.cancel();
    expect(seen.length).toBe(before);
  });

  it('an error mid-stream ends the stream after the batches before it; an error in the first turn fails the open', async () => {
    const conn = await connectTo(peer, []);
    const interop = Client.promises(Interop, conn);
    const session = await interop.produce_error_mid_stream({ emit_before_error: 2n });
    const rows: unknown[] = [];
    const e = await failure((async () => {
      for await (const b of session) rows.push(...b.rows());
    })());
    expect(rows).toEqual([{ index: 0n, value: 0n }, { index: 1n, value: 10n }]);
    expect([e.errorType, e.message]).toEqual(['RuntimeError', 'intentional error after 2 batches']);
    expect(session.finished).toBe(true);
    const init = await failure(interop.produce_error_mid_stream({ emit_before_error: 0n }));
    expect(init.errorType).toBe('RuntimeError');
    expect(await interop.echo_string({ value: 'still fine' })).toBe('still fine');
  });

  it('Client.make streams are scoped over HTTP too', async () => {
    const rows = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const conn = yield* httpConnectScoped(peer.url, { retry: false });
          const session = yield* Client.make(Interop, conn).produce_n({ count: 2n });
          const a = yield* Effect.promise(() => session.tick());
          return a!.rows();
        }),
      ),
    );
    expect(rows).toEqual([{ index: 0n, value: 0n }]);
  });
});

describe('our HTTP client -> peer HTTP server: Reflection bootstrap', () => {
  it('lists, describes and calls by name, streams included', async () => {
    const conn = await connectTo(peer, []);
    const server = await Reflected.listProtocols(conn);
    expect(server.serverId).toBe('peer-interop');
    expect(server.protocols.map((p) => p.name)).toEqual(['Bench', 'Interop', 'vgi_rpc.Reflection.v1']);
    const interop = await Reflected.describeProtocol(conn, 'Interop');
    expect(interop.version).toBe('1.2.0');
    const m = (name: string) => interop.methods.find((x) => x.name === name)!;
    expect(await Reflected.callReflected(conn, interop, m('echo_string'), { value: 'by name' })).toBe('by name');
    const produced = await Reflected.openReflected(conn, interop, m('produce_with_header'), { count: 2n });
    expect(produced.header).toEqual({ total_expected: 2n, description: 'producing 2 batches' });
    const rows = [];
    for await (const b of produced) rows.push(...b.rowsAsSent());
    expect(rows).toEqual([{ index: 0n, value: 0n }, { index: 1n, value: 10n }]);
    const scale = await Reflected.openReflected(conn, interop, m('exchange_scale'), { factor: 2 }, { value: T.float64 });
    expect((await scale.exchange(Output.rows([{ value: 4 }]))).rowsAsSent()).toEqual([{ value: 8 }]);
    await scale.close();
  });
});
