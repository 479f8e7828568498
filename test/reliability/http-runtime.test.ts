/**
 * HTTP on the runtime, on both engines, on the main thread and with two
 * workers: a client that aborts its request interrupts the call it was
 * waiting for (its finalizer runs) and the server keeps serving; many
 * streams open at once each reach the worker holding them, turn after
 * turn; a corrupt or unknown request coding is refused with 400/415 and
 * the next request is served; a drain answers what is in flight and
 * releases the live streams; CORS headers only when CORS is on.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, markerFiles, waitFor as waitUntil } from '../support/marker-files.js';
import { Client, RpcClientError, httpConnect } from '../../src/index.js';
import { startServer, type RunningServer } from '../../transports/serve.js';
import { allBatches, continuationBody, requestBody, tokenSentinel } from '../conformance/http/http-support.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { Hang, HangLive } from '../fixtures/hang-service.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';

const WORKER = new URL('../../dist/test/fixtures/hang-worker-thread.js', import.meta.url);
const ARROW = 'application/vnd.apache.arrow.stream';
/** How long a finalizer may take to run after the client went away (generous: the machine may be loaded). */
const BOUND_MS = 3_000;

const { newMarker } = markerFiles('vgi-http-rt-');
const waitFor = (cond: () => boolean): Promise<number> => waitUntil(cond, BOUND_MS);

const serveHang = (workers: number, engine: 'uws' | 'node', extra: { cors?: { origins: string }; tokenKey?: string; tokenTtlSeconds?: number; listeners?: 'main' | 'workers' } = {}, hop?: 'sab'): Promise<RunningServer> =>
  startServer({ services: [Hang], layer: HangLive, workers, workerModule: WORKER, listen: { kind: 'http' }, http: { engine, ...extra }, ...(hop === undefined ? {} : { hop }) });

const urlOf = (s: RunningServer): string => (s.address.kind === 'http' ? s.address.url : '');

const echoWorks = async (s: RunningServer): Promise<void> => {
  const conn = await httpConnect(urlOf(s));
  try {
    expect(await Client.promises(Hang, conn).echo({ text: 'still here' })).toBe('still here');
  } finally {
    await conn.close();
  }
};

const lanes = [
  // The main thread's front end (the node engine and 0 workers always have it).
  ...(['uws', 'node'] as const).flatMap((engine) => [0, 2].map((workers) => ({ engine, workers, listeners: 'main' as 'main' | undefined, hop: undefined as 'sab' | undefined }))),
  // The default with uWS and a pool: every worker listens.
  { engine: 'uws' as const, workers: 2, listeners: undefined, hop: undefined },
  // The runtime's SAB hop: the main front end's small requests and replies cross through rings.
  { engine: 'uws' as const, workers: 2, listeners: 'main' as const, hop: 'sab' as const },
];
for (const { engine, workers, listeners, hop } of lanes) {
  describe(`HTTP on ${engine}, ${workers === 0 ? 'main thread' : `${workers} workers`}${listeners === undefined ? ', each listening (default)' : workers === 0 ? '' : ', main front end'}${hop === 'sab' ? ', SAB hop' : ''}`, () => {
    let server: RunningServer;
    beforeAll(async () => { server = await serveHang(workers, engine, listeners === undefined ? {} : { listeners }, hop); });
    afterAll(async () => { await server.drain(); });

    it('an aborted request interrupts its call, whose finalizer runs; the server keeps serving', async () => {
      const marker = newMarker();
      const abort = new AbortController();
      const pending = fetch(`${urlOf(server)}/Hang/hang`, { method: 'POST', body: requestBody(Hang, 'hang', { marker }), headers: { 'Content-Type': ARROW }, signal: abort.signal });
      await waitFor(() => linesOf(marker).includes('call acquired'));
      abort.abort();
      await expect(pending).rejects.toThrow();
      await waitFor(() => linesOf(marker).includes('call released interrupted'));
      await echoWorks(server);
    });

    it('many streams open at once: every continuation reaches the worker holding its stream', async () => {
      const conn = await httpConnect(urlOf(server));
      try {
        const hang = Client.promises(Hang, conn);
        const marker = newMarker();
        const streams = await Promise.all(Array.from({ length: 12 }, () => hang.ticks({ marker })));
        for (let turn = 0; turn < 3; turn++) {
          const batches = await Promise.all(streams.map((s) => s.tick()));
          for (const b of batches) expect(b?.values('n')).toEqual([BigInt(turn)]);
        }
        await Promise.all(streams.map((s) => s.cancel()));
        await waitFor(() => linesOf(marker).filter((l) => l.startsWith('stream released')).length === 12);
      } finally {
        await conn.close();
      }
    });

    it('a corrupt gzip body is 400, an unknown coding 415, and the next request is served', async () => {
      const body = requestBody(Hang, 'echo', { text: 'x' });
      const post = (encoding: string, bytes: Uint8Array) =>
        fetch(`${urlOf(server)}/Hang/echo`, { method: 'POST', body: bytes, headers: { 'Content-Type': ARROW, 'Content-Encoding': encoding } });
      const corrupt = gzipSync(body);
      const at = corrupt.length - 6;
      corrupt[at] = corrupt[at]! ^ 0xff;
      const bad = await post('gzip', corrupt.subarray(0, corrupt.length - 3));
      await bad.arrayBuffer();
      expect(bad.status).toBe(400);
      const unknown = await post('br', body);
      await unknown.arrayBuffer();
      expect(unknown.status).toBe(415);
      const good = await post('gzip', gzipSync(body));
      await good.arrayBuffer();
      expect(good.status).toBe(200);
      await echoWorks(server);
    });

    it('CORS is off unless configured: no Access-Control headers', async () => {
      const res = await fetch(`${urlOf(server)}/health`, { headers: { Origin: 'https://elsewhere.example' } });
      await res.arrayBuffer();
      expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    });
  });
}

describe('HTTP drain and CORS', () => {
  it.each(['main', 'workers'] as const)('a drain answers the request in flight, releases the live streams, and stops listening (listeners: %s)', async (listeners) => {
    const server = await serveHang(2, 'uws', { listeners });
    const conn = await httpConnect(urlOf(server));
    const hang = Client.promises(Hang, conn);
    const marker = newMarker();
    const stream = await hang.ticks({ marker });
    expect((await stream.tick())?.values('n')).toEqual([0n]);
    const napping = hang.nap({ ms: 300n });
    await new Promise((r) => setTimeout(r, 50));
    const drained = server.drain();
    expect(await napping).toBe(300n);
    await drained;
    await waitFor(() => linesOf(marker).includes('stream released interrupted'));
    await conn.close();
    await expect(fetch(`${urlOf(server)}/health`)).rejects.toThrow();
  });

  it.each([{ workers: 0, engine: 'node' as const }, { workers: 2, engine: 'uws' as const, listeners: 'workers' as const }])('with CORS on: a preflight is answered for the origin, and the actual response exposes the capability headers (%o)', async ({ workers, engine, ...listeners }) => {
    const origin = 'https://app.example';
    const server = await serveHang(workers, engine, { cors: { origins: origin }, ...listeners });
    try {
      const pre = await fetch(`${urlOf(server)}/Hang/echo`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-vgi-accept-encoding' },
      });
      await pre.arrayBuffer();
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
      expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
      expect(pre.headers.get('access-control-allow-headers')).toContain('x-vgi-accept-encoding');
      const res = await fetch(`${urlOf(server)}/Hang/echo`, { method: 'POST', body: requestBody(Hang, 'echo', { text: 'x' }), headers: { 'Content-Type': ARROW, Origin: origin } });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
      for (const h of ['vgi-supported-encodings', 'vgi-accept-max-response-bytes-support', 'x-request-id', 'x-vgi-rpc-error']) expect(exposed).toContain(h);
      expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    } finally {
      await server.drain();
    }
  });
});

describe('HTTP stream tokens', () => {
  /** Open a `ticks` stream with raw requests: its tokens, after the /init turn. */
  const init = async (s: RunningServer): Promise<{ cursor: string; call: string }> => {
    const res = await fetch(`${urlOf(s)}/Hang/ticks/init`, { method: 'POST', body: requestBody(Hang, 'ticks', { marker: newMarker() }), headers: { 'Content-Type': ARROW, 'Accept-Encoding': 'identity' } });
    const sentinel = tokenSentinel(allBatches(new Uint8Array(await res.arrayBuffer())));
    expect(sentinel, `no tokens on /init (HTTP ${res.status})`).toBeDefined();
    return { cursor: sentinel!.meta(Keys.streamState)!, call: sentinel!.meta(Keys.callState)! };
  };
  const turn = async (s: RunningServer, cursor: string, call: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${urlOf(s)}/Hang/ticks/exchange`, { method: 'POST', body: continuationBody(cursor, call), headers: { 'Content-Type': ARROW, 'Accept-Encoding': 'identity' } });
    const body = new Uint8Array(await res.arrayBuffer());
    const error = allBatches(body).find((b) => b.meta(Keys.logLevel) === 'EXCEPTION');
    return { status: res.status, text: error?.meta(Keys.logMessage) ?? '' };
  };

  it('a genuine continuation is served; a tampered cursor, or tokens sealed with another key, are refused with 400', async () => {
    const a = await serveHang(2, 'uws', { tokenKey: 'key A' });
    const b = await serveHang(0, 'node', { tokenKey: 'key B' });
    try {
      const t = await init(a);
      expect((await turn(a, t.cursor, t.call)).status).toBe(200);
      const flipped = t.cursor.slice(0, 10) + (t.cursor[10] === 'A' ? 'B' : 'A') + t.cursor.slice(11);
      const tampered = await turn(a, flipped, t.call);
      expect(tampered.status).toBe(400);
      expect(tampered.text).toMatch(/state token/i);
      const foreign = await init(b);
      expect((await turn(a, foreign.cursor, foreign.call)).status).toBe(400);
    } finally {
      await Promise.all([a.drain(), b.drain()]);
    }
  });

  it('two servers sharing a key accept each other\'s tokens (a non-resumable stream then says its state is not held there)', async () => {
    const a = await serveHang(0, 'node', { tokenKey: 'shared' });
    const b = await serveHang(0, 'node', { tokenKey: 'shared' });
    try {
      const t = await init(a);
      const other = await turn(b, t.cursor, t.call);
      expect(other.status).toBe(400);
      expect(other.text).toMatch(/not held by this server/);
    } finally {
      await Promise.all([a.drain(), b.drain()]);
    }
  });

  it('an expired cursor is refused with 400', async () => {
    const s = await serveHang(0, 'node', { tokenTtlSeconds: 1 });
    try {
      const t = await init(s);
      await new Promise((r) => setTimeout(r, 2_100));
      const late = await turn(s, t.cursor, t.call);
      expect(late.status).toBe(400);
      expect(late.text).toMatch(/expired/i);
    } finally {
      await s.drain();
    }
  });
});

describe.each([['main', 'port'], ['workers', 'port'], ['main', 'sab']] as const)('HTTP and a worker that dies (listeners: %s, hop: %s)', (listeners, hop) => {
  const CHAOS_WORKER = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);
  // With each worker listening, the dead worker's connections close with it: a request sent on one
  // as it closes fails with a transport error (the client retries nothing here).
  const connectionLost = listeners === 'workers';

  it('the request it was answering gets WorkerCrashedError; streams it held are lost (StreamStateLostError), others go on, new calls are served', async () => {
    const server = await startServer({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: CHAOS_WORKER, listen: { kind: 'http' }, http: { listeners }, hop });
    const conn = await httpConnect(urlOf(server), { retry: false });
    try {
      const chaos = Client.promises(Chaos, conn);
      const streams = await Promise.all(Array.from({ length: 6 }, () => chaos.count({ n: 5n })));
      for (const s of streams) expect((await s.tick())?.values('i')).toEqual([0n]);
      const crashed = await chaos.crash({ how: 'exit' }).then(() => undefined, (e: unknown) => e as RpcClientError);
      expect(crashed?.errorType).toBe('WorkerCrashedError');
      let lost = 0;
      for (const s of streams) {
        try {
          expect((await s.tick())?.values('i')).toEqual([1n]);
        } catch (e) {
          expect((e as RpcClientError).errorType).toBe(connectionLost && (e as RpcClientError).errorType === 'TransportError' ? 'TransportError' : 'StreamStateLostError');
          lost++;
        }
      }
      expect(lost).toBeLessThan(streams.length);
      expect(typeof (await chaos.thread())).toBe('bigint');
    } finally {
      await conn.close();
      await server.drain();
    }
  });
});

describe('HTTP verbs', () => {
  it('a wrong verb on a route is 405, any verb on a path that is no route is 404, HEAD /health is 200', async () => {
    const server = await startServer({ services: [Hang], layer: HangLive, workers: 0, listen: { kind: 'http' }, http: { prefix: '/vgi' } });
    try {
      const status = async (method: string, path: string): Promise<number> => {
        const res = await fetch(`http://127.0.0.1:${server.address.kind === 'http' ? server.address.port : 0}${path}`, { method });
        await res.arrayBuffer();
        return res.status;
      };
      expect(await status('PUT', '/vgi/Hang/echo')).toBe(405);
      expect(await status('DELETE', '/vgi/health')).toBe(405);
      expect(await status('HEAD', '/vgi/health')).toBe(200);
      expect(await status('HEAD', '/health')).toBe(404);
      expect(await status('PUT', '/nowhere')).toBe(404);
    } finally {
      await server.drain();
    }
  });
});
