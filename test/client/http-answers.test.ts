/**
 * How the HTTP client reads what comes back, with node:http stubs that
 * answer what a vgi-rpc server (or something in front of it) may answer:
 * zstd bodies under either header, 401s with a reason, pages from
 * intermediaries, a server that is not a vgi-rpc server, bodies over the
 * budget, corrupt bodies. Plus connection reuse: every answer's body is read,
 * so keep-alive connections keep serving.
 */
import { gzipSync } from 'node:zlib';
import zstd from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, HttpError, Output, RpcClientError, Service, Method, T, httpConnect } from '../../src/index.js';
import { Interop } from '../fixtures/interop-service.js';
import { type PeerHttp, type Stub, type StubRequest, forward, reply, startPeerHttp, startProxy, startStub } from '../support/http-stub.js';
import { rpcFailure } from '../support/rpc-failure.js';

let peer: PeerHttp;
beforeAll(async () => {
  peer = await startPeerHttp();
});
afterAll(async () => {
  await peer?.stop();
});

const stubs: Stub[] = [];
afterAll(async () => {
  await Promise.all(stubs.map((s) => s.stop()));
});
const stub = async (handle: Parameters<typeof startStub>[0]): Promise<Stub> => {
  const s = await startStub(handle);
  stubs.push(s);
  return s;
};

/** The capability headers a vgi-rpc server stamps, for stubs that answer on their own. */
const CAPS = { 'VGI-Accept-Max-Response-Bytes-Support': 'true', 'VGI-Supported-Encodings': 'zstd, gzip' };

/** A stub answering the probe itself and everything else with `rpc`. */
const rpcStub = (rpc: (req: StubRequest, res: import('node:http').ServerResponse) => void | Promise<void>): Promise<Stub> =>
  stub((req, res) => {
    if (req.method === 'HEAD') {
      res.writeHead(200, CAPS);
      res.end();
      return;
    }
    return rpc(req, res);
  });

const failure = rpcFailure;

describe('zstd responses', () => {
  /** A proxy asking the peer for identity and answering zstd-compressed under `header`. */
  const zstdProxy = (header: 'X-VGI-Content-Encoding' | 'Content-Encoding', dropBudget = false) =>
    stub(async (req, res) => {
      const f = await forward(peer.url, req, {
        'accept-encoding': 'identity',
        'x-vgi-accept-encoding': 'identity',
        ...(dropBudget ? { 'vgi-accept-max-response-bytes': undefined } : {}),
      });
      if (req.method === 'HEAD' || f.status !== 200) return reply(res, f);
      reply(res, f, Buffer.from(zstd.compress(f.body)), { [header]: 'zstd' });
    });

  for (const header of ['X-VGI-Content-Encoding', 'Content-Encoding'] as const) {
    it(`are decoded under ${header}, unary and streams`, async () => {
      const proxy = await zstdProxy(header);
      const conn = await httpConnect(proxy.url, { retry: false });
      const interop = Client.promises(Interop, conn);
      const data = new TextEncoder().encode('zstd body '.repeat(20_000));
      expect(await interop.echo_bytes({ data })).toEqual(data);
      const rows = [];
      for await (const b of await interop.produce_n({ count: 3n })) rows.push(...b.rows());
      expect(rows.map((r) => r.value)).toEqual([0n, 10n, 20n]);
      const ex = await interop.exchange_scale({ factor: 0.5 });
      expect((await ex.exchange(Output.columns({ value: [8] }))).values('value')).toEqual([4]);
    });
  }

  it('a zstd body decoding past the budget is ResponseTooLargeError (a small frame cannot expand without bound)', async () => {
    // The server would honour the budget itself: the proxy drops it, so the answer is over it (compressed, far under).
    const proxy = await zstdProxy('X-VGI-Content-Encoding', true);
    const conn = await httpConnect(proxy.url, { retry: false, maxResponseBytes: 65536 });
    const e = await failure(Client.promises(Interop, conn).echo_bytes({ data: new Uint8Array(200_000) }));
    expect([e.errorType, e.local]).toEqual(['ResponseTooLargeError', true]);
    expect(e.message).toMatch(/more than 65536/);
  });
});

describe('non-2xx answers', () => {
  it('401: AuthenticationError with the reason code, the envelope detail and the request id', async () => {
    const s = await rpcStub((_req, res) => {
      res.writeHead(401, { ...CAPS, 'VGI-Auth-Reason': 'expired_credential', 'X-Request-ID': 'abc123', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'unauthorized', reason: 'expired_credential', detail: 'token expired at noon' }));
    });
    const conn = await httpConnect(s.url, { retry: false, headers: { Authorization: 'Bearer old' } });
    const e = await failure(Client.promises(Interop, conn).echo_string({ value: 'x' }));
    expect(e).toBeInstanceOf(HttpError);
    const h = e as HttpError;
    expect([h.errorType, h.status, h.authReason, h.requestId]).toEqual(['AuthenticationError', 401, 'expired_credential', 'abc123']);
    expect(h.message).toBe('HTTP 401: token expired at noon');
    expect(s.requests.at(-1)!.headers.authorization).toBe('Bearer old');
  });

  it('an intermediary\'s HTML page is named, not pasted; its 401 without a reason is "unauthorized"', async () => {
    const s = await rpcStub((_req, res) => {
      res.writeHead(401, { 'Content-Type': 'text/html' });
      res.end('<!DOCTYPE html><html><body>Sign in</body></html>');
    });
    const e = (await failure(Client.promises(Interop, await httpConnect(s.url, { retry: false })).echo_string({ value: 'x' }))) as HttpError;
    expect([e.authReason, e.message]).toEqual(['unauthorized', 'HTTP 401: the server answered with an HTML page']);
  });

  it('other statuses keep their text', async () => {
    const s = await rpcStub((_req, res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal trouble');
    });
    const e = (await failure(Client.promises(Interop, await httpConnect(s.url, { retry: false })).echo_string({ value: 'x' }))) as HttpError;
    expect([e.errorType, e.status, e.message, e.local]).toEqual(['HttpError', 500, 'HTTP 500: internal trouble', false]);
  });

  it('a server that does not advertise budget support is refused at the probe; a failed probe names its status', async () => {
    const plain = await stub((_req, res) => {
      res.writeHead(200);
      res.end();
    });
    const e = await failure(httpConnect(plain.url, { retry: false }));
    expect([e.errorType, e.message]).toEqual(['ProtocolError', expect.stringMatching(/VGI-Accept-Max-Response-Bytes-Support: true/)]);
    const missing = await stub((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const m = await failure(httpConnect(`${missing.url}/vgi`, { retry: false }));
    expect(m).toBeInstanceOf(HttpError);
    expect(m.message).toMatch(/capability probe HEAD http:\/\/127\.0\.0\.1:\d+\/vgi\/health failed: HTTP 404/);
  });
});

describe('bodies the client refuses', () => {
  it('a plain body declared over the budget is refused from its Content-Length, before reading it', async () => {
    const s = await rpcStub((_req, res) => {
      res.writeHead(200, { ...CAPS, 'Content-Type': 'application/vnd.apache.arrow.stream', 'Content-Length': '100000' });
      // Only part of it is ever written: the client must not wait for the rest.
      res.write(Buffer.alloc(1000));
    });
    const e = await failure(Client.promises(Interop, await httpConnect(s.url, { retry: false, maxResponseBytes: 65536 })).echo_string({ value: 'x' }));
    expect([e.errorType, e.local]).toEqual(['ResponseTooLargeError', true]);
    expect(e.message).toMatch(/100000 > 65536/);
  });

  it('a server cap lower than the budget lowers the limit', async () => {
    const s = await rpcStub((_req, res) => {
      res.writeHead(200, { ...CAPS, 'VGI-Max-Response-Bytes': '70000', 'Content-Type': 'application/vnd.apache.arrow.stream' });
      res.end(Buffer.alloc(80_000));
    });
    const conn = await httpConnect(s.url, { retry: false });
    const e = await failure(Client.promises(Interop, conn).echo_string({ value: 'x' }));
    expect(e.errorType).toBe('ResponseTooLargeError');
    expect(conn.responseLimit).toBe(70_000);
  });

  it('a corrupt gzip body, an unknown coding and a body that is not Arrow are ProtocolErrors', async () => {
    const answers: (() => [Record<string, string>, Buffer])[] = [
      () => [{ 'X-VGI-Content-Encoding': 'gzip' }, Buffer.from('not gzip at all')],
      () => [{ 'X-VGI-Content-Encoding': 'lz4' }, Buffer.from('whatever')],
      () => [{}, gzipSync(Buffer.from('x')).subarray(0, 5)],
      () => [{}, Buffer.from('<html>hello</html>')],
    ];
    let i = 0;
    const s = await rpcStub((_req, res) => {
      const [headers, body] = answers[i++]!();
      res.writeHead(200, { ...CAPS, 'Content-Type': 'application/vnd.apache.arrow.stream', ...headers });
      res.end(body);
    });
    const interop = Client.promises(Interop, await httpConnect(s.url, { retry: false }));
    const messages = [];
    for (let k = 0; k < answers.length; k++) {
      const e = await failure(interop.echo_string({ value: 'x' }));
      expect(e.errorType).toBe('ProtocolError');
      messages.push(e.message);
    }
    expect(messages[0]).toMatch(/cannot decode the gzip response body/);
    expect(messages[1]).toMatch(/unsupported X-VGI-Content-Encoding: lz4/);
    expect(messages[2]).toMatch(/not a valid Arrow IPC stream/);
    expect(messages[3]).toMatch(/not a valid Arrow IPC stream/);
  });

  it('calls and stream turns on a closed connection fail with TransportError; calls already made complete', async () => {
    const conn = await httpConnect(peer.url, { retry: false });
    const interop = Client.promises(Interop, conn);
    const pending = interop.echo_string({ value: 'in flight' });
    await conn.close();
    expect(await pending).toBe('in flight');
    const e = await failure(interop.echo_string({ value: 'late' }));
    expect([e.errorType, e.message]).toEqual(['TransportError', 'the client closed the connection']);
    // An open stream's next turn too.
    const again = await httpConnect(peer.url, { retry: false });
    const session = await Client.promises(Interop, again).produce_n({ count: 5n });
    expect((await session.tick())!.rows()).toHaveLength(1);
    await again.close();
    expect((await failure(session.tick())).errorType).toBe('TransportError');
  });
});

describe('connection reuse', () => {
  it('error answers are read to their end: large ones do not pin their connections', async () => {
    // Small bodies arrive whole with their headers; a large unread one would keep its connection busy for good.
    const page = Buffer.from(`<html>${'x'.repeat(300_000)}</html>`);
    const s = await rpcStub((_req, res) => {
      res.writeHead(401, { ...CAPS, 'Content-Type': 'text/html', 'Content-Length': String(page.byteLength) });
      res.end(page);
    });
    const interop = Client.promises(Interop, await httpConnect(s.url, { retry: false }));
    for (let i = 0; i < 12; i++) expect((await failure(interop.echo_string({ value: 'x' }))).errorType).toBe('AuthenticationError');
    expect(s.connections()).toBeLessThanOrEqual(4);
  });

  it('a few keep-alive connections carry all calls, errors and streams included', async () => {
    const proxy = await startProxy(peer.url);
    stubs.push(proxy);
    const conn = await httpConnect(proxy.url, { retry: false });
    const interop = Client.promises(Interop, conn);
    const Unknown = Service.define('Interop', { version: '1.2.0' }, { no_such_method: Method.unary({ result: T.utf8 }) });
    for (let i = 0; i < 10; i++) {
      expect(await interop.echo_int({ value: BigInt(i) })).toBe(BigInt(i));
      await failure(interop.raise_value_error({ message: 'm' }));
      await failure(Client.promises(Unknown, conn).no_such_method());
      const s = await interop.produce_n({ count: 2n });
      for await (const _ of s) void _;
      const c = await interop.cancellable_producer();
      await c.tick();
      await c.cancel();
    }
    expect(proxy.requests.length).toBeGreaterThan(60);
    // Sequential calls: fetch opens a second or third connection when the next request starts before the
    // last one's socket is back in its pool, no more; an answer left unread would hold its connection for good.
    expect(proxy.connections()).toBeLessThanOrEqual(4);
  });
});
