/**
 * The two HTTP engines behind transports/http/engine.ts (uWebSockets.js and
 * node:http), run through the same cases: what reaches the handler, bodies
 * in and out (large, chunked, over the cap), aborts, keep-alive, HEAD and a
 * graceful close. Clients are node:http and raw sockets, so what is checked
 * is what goes over the wire.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpHandler, HttpListener, HttpReply, HttpRequest } from '../../transports/http/engine.js';
import { EngineRequest, abortHook } from '../../transports/http/engine-request.js';
import { listenHttp } from '../../transports/http/listen-http.js';
import { OVERSIZE_DRAIN_BYTES } from '../../transports/http/request-body.js';
import { uwsAvailable } from '../../transports/http/uws-engine.js';

const HOST = '127.0.0.1';
const MB = 1024 * 1024;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (chunks: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A test's view of one reply. */
interface Received {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly reusedSocket: boolean;
  readonly localPort: number;
}

interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: Uint8Array;
  /** Write the body in this many pieces, yielding to the event loop between them. */
  readonly pieces?: number;
  readonly agent?: http.Agent | false;
  /** Leave the reply unread for this long first, so the server meets backpressure. */
  readonly readDelayMs?: number;
}

/** One request with node:http's client. */
const send = (port: number, o: SendOptions = {}): Promise<Received> =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method: o.method ?? 'GET', path: o.path ?? '/', headers: o.headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      const collect = (): void => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), reusedSocket: req.reusedSocket, localPort: res.socket?.localPort ?? -1 }));
      };
      if (o.readDelayMs === undefined) collect();
      else { res.pause(); setTimeout(() => { collect(); res.resume(); }, o.readDelayMs); }
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = o.body;
    if (body === undefined) { req.end(); return; }
    const pieces = o.pieces ?? 1;
    void (async () => {
      const size = Math.ceil(body.byteLength / pieces);
      for (let at = 0; at < body.byteLength; at += size) {
        if (!req.write(body.subarray(at, at + size))) await once(req, 'drain');
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })().catch(reject);
  });

/** A raw connection that can send bytes and read whole responses (Content-Length framed, or up to the close). */
class RawClient {
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.buffered = Buffer.concat([this.buffered, d]); this.waiter?.(); });
    socket.on('close', () => { this.closed = true; this.waiter?.(); });
    socket.on('error', () => {});
  }
  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, HOST);
    await once(socket, 'connect');
    return new RawClient(socket);
  }
  write(data: string | Uint8Array): void { this.socket.write(data); }
  destroy(): void { this.socket.destroy(); }
  private async until(test: () => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!test()) {
      if (this.closed) throw new Error(`connection closed; received ${JSON.stringify(this.buffered.toString('latin1').slice(0, 200))}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the server');
      await new Promise<void>((r) => { this.waiter = r; setTimeout(r, 50); });
    }
  }
  /** The head of the next response, and as many body bytes as its Content-Length says (none for HEAD). */
  async response(head = false): Promise<{ head: string; body: Buffer }> {
    await this.until(() => this.buffered.includes('\r\n\r\n'));
    const end = this.buffered.indexOf('\r\n\r\n');
    const headText = this.buffered.subarray(0, end).toString('latin1');
    const length = head ? 0 : Number(/\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1] ?? 0);
    await this.until(() => this.buffered.length >= end + 4 + length);
    const body = this.buffered.subarray(end + 4, end + 4 + length);
    this.buffered = this.buffered.subarray(end + 4 + length);
    return { head: headText, body: Buffer.from(body) };
  }
  /** Bytes received but not yet taken by `response`. */
  get leftover(): Buffer { return this.buffered; }
  async closedByServer(): Promise<void> { await this.until(() => this.closed); }
}

/** Everything a handler saw, for the assertions. */
const seen: HttpRequest[] = [];

/** A gate a test opens to let a waiting handler answer. */
let gate: { entered: () => void; release: Promise<void> } | undefined;

/** The `onWritten` calls of the replies that have one, in order. */
const written: string[] = [];

const echoHandler: HttpHandler = async (request): Promise<HttpReply> => {
  seen.push(request);
  const { path, body } = request;
  if (body === undefined) return { status: 413, headers: [['content-type', 'text/plain']], body: [text('too large\n')] };
  if (path === '/sum') return { status: 200, headers: [['x-length', String(body.byteLength)]], body: [text(sha256([body]))] };
  if (path === '/big') {
    await sleep(5);
    const big = BIG_REPLY;
    // Uneven chunks, one a view at an offset, so the engine's chunk and offset bookkeeping is exercised.
    return { status: 200, headers: [['content-type', 'application/octet-stream']], body: [big.subarray(0, 7 * MB), big.subarray(7 * MB, 7 * MB + 1), big.subarray(7 * MB + 1)] };
  }
  if (path === '/big-written') {
    const big = BIG_REPLY;
    return { status: 200, headers: [], body: [big.subarray(0, 3 * MB), big.subarray(3 * MB)], onWritten: () => written.push('big') };
  }
  if (path === '/wait-abort') {
    gate?.entered();
    await Promise.race([once(request.aborted, 'abort'), sleep(10_000)]);
    return { status: 200, headers: [], body: [text('too late')], onWritten: () => written.push('dropped') };
  }
  if (path === '/gate') {
    const g = gate!;
    g.entered();
    await g.release;
    return { status: 200, headers: [], body: [text('finished after close')] };
  }
  if (path === '/throw') throw new Error('handler failure (expected by the test)');
  if (path === '/inject') return { status: 200, headers: [['x-echo', 'a\r\nx-injected: yes']], body: [text('should not be sent')] };
  if (path === '/declared-length') return { status: 200, headers: [['Content-Length', '1234']], body: [] };
  return { status: 200, headers: [['x-method', request.method]], body: [text('hello world'), body] };
};

/** The same answers without a promise: the engine then writes while still inside its own callback. */
const syncHandler: HttpHandler = (request) => {
  seen.push(request);
  const { body } = request;
  if (body === undefined) return { status: 413, headers: [['content-type', 'text/plain']], body: [text('too large\n')] };
  if (request.path === '/sum') return { status: 200, headers: [['x-length', String(body.byteLength)]], body: [text(sha256([body]))] };
  return { status: 200, headers: [['x-method', request.method]], body: [text('hello world'), body] };
};

const BIG_REPLY = randomBytes(20 * MB);

const engines = ['uws', 'node'] as const;

describe.each(engines)('HTTP engine %s', (engine) => {
  const skip = engine === 'uws' && !uwsAvailable();
  let listener: HttpListener;
  let port: number;

  beforeAll(async () => {
    if (skip) return;
    listener = await listenHttp({ engine, host: HOST, port: 0, maxBodyBytes: 8 * MB, handler: echoHandler });
    port = listener.port;
  });
  afterAll(async () => { if (!skip) await listener.close(); });

  it.skipIf(skip)('listens on the engine asked for, on the port it reports', () => {
    expect(listener.engine).toBe(engine);
    expect(port).toBeGreaterThan(0);
  });

  it.skipIf(skip)('GET, HEAD, POST, OPTIONS and DELETE reach the handler with method, path, query and lower-case headers', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS', 'DELETE']) {
      seen.length = 0;
      const body = method === 'POST' ? text(`posted ${method}`) : undefined;
      const r = await send(port, { method, path: '/a/b%20c/?x=1&y=%2F', headers: { 'X-Custom-Thing': 'Value', 'x-rep': ['one', 'two'], ...(body ? { 'Content-Type': 'text/plain' } : {}) }, ...(body ? { body } : {}) });
      expect(r.status, method).toBe(200);
      expect(r.headers['x-method'], method).toBe(method);
      expect(seen).toHaveLength(1);
      const q = seen[0]!;
      expect(q.method).toBe(method);
      expect(q.path).toBe('/a/b%20c/');
      expect(q.query).toBe('x=1&y=%2F');
      expect(q.headers.get('x-custom-thing')).toBe('Value');
      expect(q.headers.get('x-rep')).toBe('one, two');
      expect(q.headers.get('host')).toBe(`${HOST}:${port}`);
      for (const name of q.headers.keys()) expect(name).toBe(name.toLowerCase());
      expect(q.remoteAddress).toBe(HOST);
      expect(q.aborted.aborted).toBe(false);
      expect(Buffer.from(q.body!).toString()).toBe(body ? `posted ${method}` : '');
      if (method === 'HEAD') expect(r.body.byteLength).toBe(0);
      else expect(r.body.toString()).toBe(`hello world${body ? `posted ${method}` : ''}`);
    }
  });

  it.skipIf(skip)('a 5 MB body sent in many pieces arrives intact, with and without Content-Length', async () => {
    const body = randomBytes(5 * MB + 17);
    const expected = sha256([body]);
    const withLength = await send(port, { method: 'POST', path: '/sum', body, pieces: 80, headers: { 'Content-Length': body.byteLength } });
    expect(withLength.status).toBe(200);
    expect(withLength.headers['x-length']).toBe(String(body.byteLength));
    expect(withLength.body.toString()).toBe(expected);
    const chunked = await send(port, { method: 'POST', path: '/sum', body, pieces: 80, headers: { 'Transfer-Encoding': 'chunked' } });
    expect(chunked.status).toBe(200);
    expect(chunked.headers['x-length']).toBe(String(body.byteLength));
    expect(chunked.body.toString()).toBe(expected);
  });

  it.skipIf(skip)('an async 20 MB reply in several chunks arrives intact to a client that reads late', async () => {
    const r = await send(port, { path: '/big', readDelayMs: 300 });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(BIG_REPLY.byteLength));
    expect(r.body.byteLength).toBe(BIG_REPLY.byteLength);
    expect(sha256([r.body])).toBe(sha256([BIG_REPLY]));
  });

  it.skipIf(skip)('100 sequential requests share one keep-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 100; i++) {
        const r = await send(port, { method: 'POST', path: '/echo', body: text(`#${i}`), agent });
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe(`hello world#${i}`);
        expect(r.reusedSocket).toBe(i > 0);
        ports.add(r.localPort);
      }
      expect(ports.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it.skipIf(skip)('HEAD replies carry the length but no body, and the connection goes on', async () => {
    const c = await RawClient.connect(port);
    try {
      c.write(`HEAD /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      const head = await c.response(true);
      expect(head.head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head.head).toMatch(/\r\ncontent-length: 11(\r\n|$)/i);
      await sleep(100); // a body, if one were (wrongly) sent, would be here by now
      expect(c.leftover.byteLength).toBe(0);
      c.write(`HEAD /declared-length HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      const declared = await c.response(true);
      expect(declared.head).toMatch(/\r\ncontent-length: 1234(\r\n|$)/i);
      c.write(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      const get = await c.response();
      expect(get.head).toMatch(/^HTTP\/1\.1 200 /);
      expect(get.body.toString()).toBe('hello world');
    } finally {
      c.destroy();
    }
  });

  it.skipIf(skip)('a client aborting mid-request fires `aborted`; the late reply is dropped and serving goes on', async () => {
    seen.length = 0;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    gate = { entered, release: Promise.resolve() };
    const c = await RawClient.connect(port);
    c.write(`GET /wait-abort HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await inHandler;
    expect(listener.inFlight).toBe(1);
    const request = seen[0]!;
    expect(request.aborted.aborted).toBe(false);
    c.destroy();
    await Promise.race([once(request.aborted, 'abort'), sleep(5_000)]);
    expect(request.aborted.aborted).toBe(true);
    await sleep(50); // the handler's late reply goes nowhere
    expect(listener.inFlight).toBe(0);
    const next = await send(port, { path: '/after-abort' });
    expect(next.status).toBe(200);
  });

  it.skipIf(skip)('onWritten is called once the whole body is written, not before, and once only', async () => {
    written.length = 0;
    const reply = send(port, { path: '/big-written', readDelayMs: 300 });
    await sleep(150);
    // 20 MB cannot all be in the socket buffers while the client reads nothing.
    expect(written).toEqual([]);
    const r = await reply;
    expect(r.body.byteLength).toBe(BIG_REPLY.byteLength);
    for (let i = 0; i < 50 && written.length === 0; i++) await sleep(10);
    await sleep(20);
    expect(written).toEqual(['big']);
  });

  it.skipIf(skip)('a reply dropped because its client went away is released too (onWritten), once', async () => {
    written.length = 0;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    gate = { entered, release: Promise.resolve() };
    const c = await RawClient.connect(port);
    c.write(`GET /wait-abort HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await inHandler;
    c.destroy();
    for (let i = 0; i < 200 && written.length === 0; i++) await sleep(10);
    await sleep(20);
    expect(written).toEqual(['dropped']);
  });

  it.skipIf(skip)('a client gone halfway through its body never reaches the handler', async () => {
    seen.length = 0;
    const c = await RawClient.connect(port);
    c.write(`POST /sum HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${MB}\r\n\r\n`);
    c.write(randomBytes(100_000));
    await sleep(100);
    expect(listener.inFlight).toBe(1);
    c.destroy();
    await sleep(100);
    expect(listener.inFlight).toBe(0);
    expect(seen).toHaveLength(0);
    expect((await send(port, { path: '/after-half-body' })).status).toBe(200);
  });

  it.skipIf(skip)('a failing handler, or a reply header that would inject another, gives 500 and serving goes on', async () => {
    const r = await send(port, { path: '/throw' });
    expect(r.status).toBe(500);
    const injected = await send(port, { path: '/inject' });
    expect(injected.status).toBe(500);
    expect(injected.headers['x-injected']).toBeUndefined();
    expect(injected.body.toString()).not.toContain('should not be sent');
    expect((await send(port, { path: '/after-throw' })).status).toBe(200);
  });

  describe.each(['async', 'sync'] as const)('over the body cap, %s handler', (kind) => {
    let capped: HttpListener;
    const CAP = MB;
    beforeAll(async () => {
      if (skip) return;
      capped = await listenHttp({ engine, host: HOST, port: 0, maxBodyBytes: CAP, handler: kind === 'sync' ? syncHandler : echoHandler });
    });
    afterAll(async () => { if (!skip) await capped.close(); });

    it.skipIf(skip)('a body of exactly the cap is read in full', async () => {
      const body = randomBytes(CAP);
      const r = await send(capped.port, { method: 'POST', path: '/sum', body, pieces: 8 });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(sha256([body]));
    });

    for (const framing of ['content-length', 'chunked'] as const) {
      it.skipIf(skip)(`a ${framing} body over the cap reaches the handler as undefined; the 413 reaches the client; the next connection is served`, async () => {
        seen.length = 0;
        const body = randomBytes(3 * CAP);
        const headers = framing === 'chunked' ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': body.byteLength };
        // A keep-alive client, so that only the server can ask for the close.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const r = await send(capped.port, { method: 'POST', path: '/sum', body, pieces: 24, headers, agent });
          expect(r.status).toBe(413);
          expect(r.body.toString()).toBe('too large\n');
          expect(r.headers.connection).toBe('close');
          expect(seen).toHaveLength(1);
          expect(seen[0]!.body).toBeUndefined();
          const small = text('fits');
          const next = await send(capped.port, { method: 'POST', path: '/sum', body: small, agent });
          expect(next.status).toBe(200);
          expect(next.reusedSocket).toBe(false);
          expect(next.body.toString()).toBe(sha256([small]));
          expect(capped.inFlight).toBe(0);
        } finally {
          agent.destroy();
        }
      });
    }

    it.skipIf(skip)('a Content-Length past the cap by more than the engines drain is answered at once and the connection closed', async () => {
      seen.length = 0;
      const c = await RawClient.connect(capped.port);
      // (Below 2 GiB: this uWS closes connections announcing more without a reply.)
      c.write(`POST /sum HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${CAP + OVERSIZE_DRAIN_BYTES + MB}\r\n\r\n`);
      c.write(randomBytes(1000));
      const r = await c.response();
      expect(r.head).toMatch(/^HTTP\/1\.1 413 /);
      expect(r.body.toString()).toBe('too large\n');
      await c.closedByServer();
      expect(seen[0]!.body).toBeUndefined();
      expect((await send(capped.port, { path: '/after-huge' })).status).toBe(200);
    });
  });

  it.skipIf(skip)('close() stops accepting but lets the request in flight finish', async () => {
    const own = await listenHttp({ engine, host: HOST, port: 0, maxBodyBytes: MB, handler: echoHandler });
    let entered!: () => void;
    let release!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    gate = { entered, release: new Promise<void>((r) => { release = r; }) };
    const pending = send(own.port, { path: '/gate' });
    await inHandler;
    let closed = false;
    const closing = own.close().then(() => { closed = true; });
    await sleep(150);
    expect(closed).toBe(false);
    expect(own.inFlight).toBe(1);
    await expect(send(own.port, { path: '/refused' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    release();
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('finished after close');
    await closing;
    expect(closed).toBe(true);
    expect(own.inFlight).toBe(0);
  });
});

describe('listenHttp engine choice', () => {
  it('auto picks uWebSockets.js where its native binary loads, node:http otherwise', async () => {
    const l = await listenHttp({ host: HOST, port: 0, maxBodyBytes: MB, handler: echoHandler });
    try {
      expect(l.engine).toBe(uwsAvailable() ? 'uws' : 'node');
      expect((await send(l.port, { path: '/auto' })).status).toBe(200);
    } finally {
      await l.close();
    }
  });

  it('without the native uWS (UWS_USE_FALLBACK), auto falls back to node:http and an explicit uws fails saying why', async () => {
    const module = fileURLToPath(new URL('../../dist/transports/http/listen-http.js', import.meta.url));
    const script = `
      const { listenHttp, UwsUnavailableError } = await import(${JSON.stringify(module)});
      const { uwsAvailable } = await import(${JSON.stringify(module.replace('listen-http.js', 'uws-engine.js'))});
      const handler = () => ({ status: 200, headers: [], body: [] });
      const auto = await listenHttp({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024, handler });
      await auto.close();
      let error;
      try { await listenHttp({ engine: 'uws', host: '127.0.0.1', port: 0, maxBodyBytes: 1024, handler }); } catch (e) { error = e; }
      console.log(JSON.stringify({ available: uwsAvailable(), auto: auto.engine, isTyped: error instanceof UwsUnavailableError, message: String(error?.message) }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, UWS_USE_FALLBACK: '1' } });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { available: boolean; auto: string; isTyped: boolean; message: string };
    expect(result.available).toBe(false);
    expect(result.auto).toBe('node');
    expect(result.isTyped).toBe(true);
    expect(result.message).toMatch(/UWS_USE_FALLBACK/);
  });
});

describe('EngineRequest.aborted', () => {
  const make = (): EngineRequest => new EngineRequest('GET', '/', '', new Map(), new Uint8Array(0), HOST);

  it('fires for a handler that asked for the signal before the abort', () => {
    const r = make();
    const signal = r.aborted;
    let fired = 0;
    signal.addEventListener('abort', () => { fired++; });
    expect(signal.aborted).toBe(false);
    EngineRequest.abort(r);
    EngineRequest.abort(r);
    expect(fired).toBe(1);
    expect(r.aborted).toBe(signal);
  });

  it('is already aborted when first asked for after the abort', () => {
    const r = make();
    EngineRequest.abort(r);
    expect(r.aborted.aborted).toBe(true);
  });
});

describe('abortHook', () => {
  const make = (): EngineRequest => new EngineRequest('GET', '/', '', new Map(), new Uint8Array(0), HOST);

  it('calls listeners of an engine request once when it aborts, not the unsubscribed ones, and makes no AbortSignal for them', () => {
    const r = make();
    const hook = abortHook(r);
    const calls: string[] = [];
    hook(() => calls.push('a'));
    const off = hook(() => calls.push('b'));
    off();
    EngineRequest.abort(r);
    EngineRequest.abort(r);
    expect(calls).toEqual(['a']);
    // A listener that arrives after the abort is called at once.
    hook(() => calls.push('late'));
    expect(calls).toEqual(['a', 'late']);
  });

  it('also fires the AbortSignal a handler asked for', () => {
    const r = make();
    const signal = r.aborted;
    const calls: string[] = [];
    abortHook(r)(() => calls.push('hook'));
    EngineRequest.abort(r);
    expect([signal.aborted, calls]).toEqual([true, ['hook']]);
  });

  it('falls back to the AbortSignal of any other HttpRequest', () => {
    const controller = new AbortController();
    const request: HttpRequest = { method: 'GET', path: '/', query: '', headers: new Map(), body: undefined, aborted: controller.signal, remoteAddress: HOST };
    const calls: string[] = [];
    const hook = abortHook(request);
    hook(() => calls.push('a'));
    hook(() => calls.push('b'))();
    controller.abort();
    hook(() => calls.push('late'));
    expect(calls).toEqual(['a', 'late']);
  });
});
