/**
 * Sticky sessions on a server with two worker threads: a session's state
 * is released exactly once however it ends (explicit close, DELETE
 * `__session__`, expiry reaped with no request, drain), its requests reach
 * the worker holding it, a drain refuses new opens while existing sessions
 * serve, and a worker that dies loses only its own sessions
 * (SessionLostError) while the other worker's keep serving. Over a socket,
 * opening a session is a clear RuntimeError.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, markerFiles, waitFor } from '../support/marker-files.js';
import { startServer, type RunningServer } from '../../transports/serve.js';
import { allBatches, requestBody, resultValue, rpcPath, unaryRequestBody } from '../conformance/http/http-support.js';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { Keys } from '../../src/wire/metadata-keys.js';
import { Tally, TallyLive } from '../fixtures/session-service.js';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { httpConnect } from '../../src/client/http/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { serveUnix } from '../../transports/unix/unix-server.js';
import { connectUnix } from '../../transports/unix/unix-client.js';

const WORKER = new URL('../../dist/test/fixtures/session-worker-thread.js', import.meta.url);
const ARROW = 'application/vnd.apache.arrow.stream';
/** Bound on anything the server does in the background (generous: the machine may be loaded). */
const BOUND_MS = 6_000;
/** The drain's grace period: open sessions keep serving that long. */
const GRACE_MS = 2_000;

const { newMarker, pathOf } = markerFiles('vgi-http-sticky-');

let server: RunningServer | undefined;
afterEach(async () => {
  // What a test leaves open needs no grace period: stop at once (the drain tests drain themselves).
  await server?.shutdown();
  server = undefined;
});

/** Who listens in the describe running now: every worker (the default) or the main thread's front end. */
let listeners: 'main' | 'workers' = 'workers';

const serve = async (sticky: { defaultTtlSeconds?: number; maxSessions?: number } = {}, testDrainEndpoint = false, cors?: { origins: string }): Promise<string> => {
  server = await startServer({
    services: [Tally], layer: TallyLive, workers: 2, workerModule: WORKER, listen: { kind: 'http' }, graceMs: GRACE_MS,
    http: { listeners, sticky: { ...sticky, echoHeaders: { 'x-route': 'here' } }, testDrainEndpoint, ...(cors === undefined ? {} : { cors }) },
  });
  return server.address.kind === 'http' ? server.address.url : '';
};

/** What a call answered: its result, or its error's type and kind; with the response. */
interface Outcome {
  readonly res: Response;
  readonly value?: unknown;
  readonly error?: string;
  readonly kind?: string;
}

/** POST on a connection of its own (closed after it): with every worker listening, the kernel picks the worker for each. */
const postFresh = (url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(body.byteLength) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : [])) })));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

const call = async (url: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}, fresh = false): Promise<Outcome> => {
  const init = { body: requestBody(Tally, method, params), headers: { 'Content-Type': ARROW, ...headers } };
  const res = fresh ? await postFresh(`${url}/Tally/${method}`, init.body, init.headers) : await fetch(`${url}/Tally/${method}`, { method: 'POST', ...init });
  const body = new Uint8Array(await res.arrayBuffer());
  const exc = allBatches(body).find((b) => b.meta(Keys.logLevel) === 'EXCEPTION');
  if (exc === undefined) return { res, value: resultValue(body) };
  const extra = JSON.parse(exc.meta(Keys.logExtra) ?? '{}') as { exception_type?: string };
  return { res, error: extra.exception_type ?? '?', kind: exc.meta('vgi_rpc.error_kind') ?? '' };
};

const ACCEPT = { 'VGI-Session-Accept': 'true' };
const inSession = (token: string): Record<string, string> => ({ ...ACCEPT, 'VGI-Session': token });

/** Open a session holding a tally at `initial` (`fresh`: on a connection of its own): its token and the thread holding it. */
const open = async (url: string, marker: string, initial = 0n, ttl = 0n, fresh = false): Promise<{ token: string; thread: unknown }> => {
  const o = await call(url, 'open', { marker, initial, ttl }, ACCEPT, fresh);
  expect(o.error, `open failed: ${o.error}`).toBeUndefined();
  const token = o.res.headers.get('VGI-Session');
  expect(token).toBeTruthy();
  expect(o.res.headers.get('VGI-Echo-x-route')).toBe('here');
  return { token: token!, thread: o.value };
};

const expectLost = async (url: string, token: string): Promise<void> => {
  const o = await call(url, 'add', { by: 1n }, inSession(token));
  expect(o.res.status).toBe(200);
  expect(o.res.headers.get('X-VGI-RPC-Error')).toBe('true');
  expect([o.error, o.kind]).toEqual(['SessionLostError', 'session_lost']);
};

describe.each(['workers', 'main'] as const)('sticky sessions over HTTP with two workers (listeners: %s)', (mode) => {
  beforeAll(() => { listeners = mode; });
  it('a session pins its worker; explicit close releases its state once; the token is then lost', async () => {
    const url = await serve();
    const marker = newMarker();
    const { token, thread } = await open(url, marker, 5n);
    for (let i = 1n; i <= 8n; i++) {
      // Interleave calls without a session: they may go to any worker; the session's go to its own.
      await call(url, 'thread', {});
      expect((await call(url, 'add', { by: 1n }, inSession(token))).value).toBe(5n + i);
      expect((await call(url, 'thread', {}, inSession(token))).value).toBe(thread);
    }
    const sid = (await call(url, 'session_id', {}, inSession(token))).value as string;
    expect(sid).toMatch(/^[0-9a-f]{24}$/);
    const closed = await call(url, 'close', {}, inSession(token));
    expect(closed.value).toBe(13n);
    expect(closed.res.headers.get('VGI-Session-Close')).toBe('true');
    expect(linesOf(marker)).toEqual(['released 13']);
    await expectLost(url, token);
    const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token } });
    expect([del.status, (await del.arrayBuffer()).byteLength]).toEqual([200, 0]);
    expect(linesOf(marker)).toEqual(['released 13']);
  });

  it('capabilities advertise sticky sessions; with CORS on, the session headers are exposed and DELETE allowed', async () => {
    const url = await serve({ defaultTtlSeconds: 42 }, false, { origins: 'https://app.example' });
    const res = await fetch(`${url}/health`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'DELETE' } });
    await res.arrayBuffer();
    expect([res.headers.get('VGI-Sticky-Enabled'), res.headers.get('VGI-Sticky-Default-TTL'), res.headers.get('VGI-Sticky-Echo-Headers')]).toEqual(['true', '42', 'x-route']);
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('DELETE');
    const exposed = (res.headers.get('Access-Control-Expose-Headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    for (const h of ['vgi-session', 'vgi-session-close', 'vgi-echo-x-route', 'vgi-sticky-enabled', 'vgi-sticky-default-ttl', 'vgi-sticky-echo-headers']) expect(exposed).toContain(h);
    const { token } = await open(url, newMarker());
    const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token, Origin: 'https://app.example' } });
    await del.arrayBuffer();
    expect([del.status, del.headers.get('Access-Control-Allow-Origin'), del.headers.get('VGI-Sticky-Enabled')]).toEqual([204, 'https://app.example', 'true']);
  });

  it('DELETE __session__ closes it once (204 + VGI-Session-Close), then answers 200 empty', async () => {
    const url = await serve();
    const marker = newMarker();
    const { token } = await open(url, marker, 1n);
    const first = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token } });
    await first.arrayBuffer();
    expect(first.status).toBe(204);
    expect(first.headers.get('VGI-Session-Close')).toBe('true');
    const again = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token } });
    expect([again.status, (await again.arrayBuffer()).byteLength]).toEqual([200, 0]);
    expect(linesOf(marker)).toEqual(['released 1']);
    await expectLost(url, token);
  });

  it('DELETE __session__ queues behind a call running on the session (it takes the session lock), then closes it', async () => {
    const url = await serve();
    const marker = newMarker();
    const { token } = await open(url, marker, 1n);
    const log = newMarker();
    const running = call(url, 'slow_add', { by: 5n, ms: 600n, marker: log, label: 'slow' }, inSession(token));
    await waitFor(() => linesOf(log).includes('start slow'), BOUND_MS);
    const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token } });
    await del.arrayBuffer();
    // The DELETE answered only after the call had ended, and the state released holds the call's update.
    expect(linesOf(log)).toEqual(['start slow', 'end slow']);
    expect(del.status).toBe(204);
    expect((await running).value).toBe(6n);
    expect(linesOf(marker)).toEqual(['released 6']);
  });

  it('an expired session is released by the reaper with no request, once, and its token is lost', async () => {
    const url = await serve({ defaultTtlSeconds: 1 });
    const marker = newMarker();
    const { token } = await open(url, marker, 3n);
    expect((await call(url, 'add', { by: 1n }, inSession(token))).value).toBe(4n);
    await waitFor(() => linesOf(marker).length > 0, BOUND_MS);
    expect(linesOf(marker)).toEqual(['released 4']);
    await expectLost(url, token);
    expect(linesOf(marker)).toEqual(['released 4']);
  });

  it('while draining, new opens fail with ServerDrainingError and open sessions serve; a drain releases each session once', async () => {
    const url = await serve({}, true);
    const origin = new URL(url).origin;
    const markers = [newMarker(), newMarker(), newMarker()];
    const sessions = await Promise.all(markers.map((m, i) => open(url, m, BigInt(i * 10))));
    const on = await fetch(`${origin}/__test_drain__`, { method: 'POST' });
    await on.arrayBuffer();
    expect(on.status).toBe(204);
    const refused = await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n }, ACCEPT);
    expect([refused.error, refused.kind]).toEqual(['ServerDrainingError', 'server_draining']);
    expect((await call(url, 'add', { by: 1n }, inSession(sessions[2]!.token))).value).toBe(21n);
    const off = await fetch(`${origin}/__test_drain__`, { method: 'DELETE' });
    await off.arrayBuffer();
    const again = await open(url, newMarker());
    // The real drain: not ready any more, sessions serve through the grace period, then every one is released once.
    const drained = server!.drain();
    server = undefined;
    await new Promise((r) => setTimeout(r, 300));
    const ready = await fetch(`${origin}/readyz`);
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([503, 'draining']);
    expect((await call(url, 'add', { by: 1n }, inSession(sessions[0]!.token))).value).toBe(1n);
    expect((await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n }, ACCEPT)).error).toBe('ServerDrainingError');
    // Closing one session during the drain releases it at once.
    expect((await call(url, 'close', {}, inSession(again.token))).res.headers.get('VGI-Session-Close')).toBe('true');
    await drained;
    expect(markers.map((m) => linesOf(m))).toEqual([['released 1'], ['released 10'], ['released 21']]);
  });

  it("the drain handle: drain() refuses new opens and turns readiness 503 while sessions serve; shutdown() releases each session once and the server goes on", async () => {
    const url = await serve();
    const origin = new URL(url).origin;
    const handle = server!.drainHandle!;
    expect(handle.isDraining()).toBe(false);
    const markers = [newMarker(), newMarker(), newMarker(), newMarker()];
    const sessions = await Promise.all(markers.map((m, i) => open(url, m, BigInt(i))));
    await handle.drain();
    await handle.drain();
    expect(handle.isDraining()).toBe(true);
    const ready = await fetch(`${origin}/readyz`);
    await ready.arrayBuffer();
    expect(ready.status).toBe(503);
    expect((await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n }, ACCEPT)).error).toBe('ServerDrainingError');
    expect((await call(url, 'add', { by: 10n }, inSession(sessions[1]!.token))).value).toBe(11n);
    await handle.shutdown();
    await handle.shutdown();
    expect(markers.map((m) => linesOf(m))).toEqual([['released 0'], ['released 11'], ['released 2'], ['released 3']]);
    for (const s of sessions) await expectLost(url, s.token);
    // The server itself goes on serving; the real drain afterwards releases nothing twice.
    expect(typeof (await call(url, 'thread', {})).value).toBe('bigint');
    await server!.drain();
    server = undefined;
    expect(markers.map((m) => linesOf(m).length)).toEqual([1, 1, 1, 1]);
  });

  it('a drain with no open session stops at once; the readiness probe answered 200 before it', async () => {
    const url = await serve();
    const origin = new URL(url).origin;
    const ready = await fetch(`${origin}/readyz`);
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([200, 'ready']);
    const { token } = await open(url, newMarker());
    await call(url, 'close', {}, inSession(token));
    const t0 = Date.now();
    await server!.drain();
    server = undefined;
    expect(Date.now() - t0, 'the drain waited for a session that was closed').toBeLessThan(GRACE_MS);
  });

  it("one session's calls run one at a time (no lost update); different sessions' calls run at once", async () => {
    const url = await serve();
    const { token } = await open(url, newMarker(), 0n);
    const log = newMarker();
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      call(url, 'slow_add', { by: 1n, ms: 40n, marker: log, label: `s${i}` }, inSession(token))));
    expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect((await call(url, 'add', { by: 0n }, inSession(token))).value).toBe(5n);
    // Serialized: every start is followed by its own end.
    const lines = linesOf(log);
    for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(lines[i]!.replace('start', 'end'));
    const [a, b] = await Promise.all([open(url, newMarker(), 0n), open(url, newMarker(), 0n)]);
    const both = newMarker();
    await Promise.all([a, b].map((s, i) => call(url, 'slow_add', { by: 1n, ms: 1_000n, marker: both, label: `p${i}` }, inSession(s.token))));
    expect(linesOf(both).slice(0, 2).every((l) => l.startsWith('start')), `two sessions did not overlap: ${linesOf(both).join(', ')}`).toBe(true);
  });

  it('maxSessions: each worker holds its share; an open beyond it is a SessionLimitError (RESOURCE_EXHAUSTED, QuotaFailure) until a session ends', async () => {
    const url = await serve({ maxSessions: 2 });
    // Sessions opened one after another, on fresh connections: they spread over both workers (the main
    // front end takes turns among idle workers; with worker listeners the kernel picks), one each.
    const held: { token: string; thread: unknown; marker: string }[] = [];
    const refusals: Outcome[] = [];
    for (let i = 0; i < 16 && (held.length < 2 || refusals.length < 2); i++) {
      const marker = newMarker();
      const o = await call(url, 'open', { marker, initial: 0n, ttl: 0n }, ACCEPT, true);
      if (o.error === undefined) held.push({ token: o.res.headers.get('VGI-Session')!, thread: o.value, marker });
      else refusals.push(o);
    }
    expect(held.length).toBe(2);
    expect(new Set(held.map((h) => h.thread)).size).toBe(2);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const r of refusals) {
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get('VGI-Session')).toBeNull();
      expect(r.error).toBe('SessionLimitError');
    }
    // The refusal as our client reports it: its code and its QuotaFailure detail.
    const conn = await httpConnect(url);
    try {
      const session = conn.withSession();
      const e = await Client.promises(Tally, session).open({ marker: newMarker(), initial: 0n, ttl: 0n }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(RpcClientError);
      const err = e as RpcClientError;
      expect([err.errorType, err.errorCode, err.retryable]).toEqual(['SessionLimitError', 'RESOURCE_EXHAUSTED', false]);
      expect(err.errorDetails).toEqual([{ '@type': 'vgi_rpc.QuotaFailure', violations: [{ subject: 'sticky_sessions', description: 'at most 1 sticky sessions per thread' }] }]);
      expect(session.currentSessionToken()).toBeNull();
    } finally {
      await conn.close();
    }
    // A session that ends makes room on its worker.
    expect((await call(url, 'close', {}, inSession(held[0]!.token))).res.headers.get('VGI-Session-Close')).toBe('true');
    let reopened: Outcome | undefined;
    for (let i = 0; i < 16 && (reopened === undefined || reopened.error !== undefined); i++) {
      reopened = await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n }, ACCEPT, true);
    }
    expect(reopened?.error).toBeUndefined();
    expect(reopened?.value).toBe(held[0]!.thread);
    // The other session kept serving throughout.
    expect((await call(url, 'add', { by: 2n }, inSession(held[1]!.token))).value).toBe(2n);
  });

  it('a session whose state was acquired in its Scope: the finalizer runs once at close; a failed acquisition opens nothing', async () => {
    const url = await serve();
    const marker = newMarker();
    const o = await call(url, 'open_scoped', { marker, initial: 2n, fail: false }, ACCEPT);
    const token = o.res.headers.get('VGI-Session')!;
    expect(token).toBeTruthy();
    expect(linesOf(marker)).toEqual(['acquired']);
    expect((await call(url, 'add', { by: 3n }, inSession(token))).value).toBe(5n);
    const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': token } });
    await del.arrayBuffer();
    expect(del.status).toBe(204);
    expect(linesOf(marker)).toEqual(['acquired', 'released 5']);
    const failedMarker = newMarker();
    const failed = await call(url, 'open_scoped', { marker: failedMarker, initial: 7n, fail: true }, ACCEPT);
    expect(failed.error).toBe('RuntimeError');
    expect(failed.res.headers.get('VGI-Session')).toBeNull();
    expect(linesOf(failedMarker)).toEqual(['acquired', 'released 7']);
  });

  it('opening needs VGI-Session-Accept: true; a second open in one request fails', async () => {
    const url = await serve();
    const refused = await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n });
    expect(refused.error).toBe('RuntimeError');
    const marker = newMarker();
    const { token } = await open(url, marker);
    const twice = await call(url, 'open', { marker: newMarker(), initial: 0n, ttl: 0n }, inSession(token));
    expect(twice.error).toBe('RuntimeError');
    expect(twice.res.headers.get('VGI-Session')).toBeNull();
  });

  it("a worker that dies loses only its sessions (SessionLostError; the main front end answers them itself, naming the exited worker); releases are counted once for the survivors", async () => {
    const url = await serve();
    // Opened concurrently, the sessions spread over both workers (each goes to the least loaded one).
    let sessions: { token: string; thread: unknown; marker: string }[] = [];
    for (let attempt = 0; attempt < 10 && new Set(sessions.map((s) => s.thread)).size < 2; attempt++) {
      sessions = sessions.concat(await Promise.all(Array.from({ length: 6 }, async () => {
        const marker = newMarker();
        return { ...(await open(url, marker, 100n)), marker };
      })));
    }
    const threads = [...new Set(sessions.map((s) => s.thread))];
    expect(threads.length, 'sessions never reached both workers').toBe(2);
    const doomed = sessions.filter((s) => s.thread === threads[0]);
    const kept = sessions.filter((s) => s.thread === threads[1]);
    const pool = server!.runtime.workerPool!;
    await call(url, 'crash', {}, inSession(doomed[0]!.token)).catch(() => undefined);
    // The thread is gone and a replacement has started.
    await waitFor(() => !pool.liveWorkers.includes(Number(threads[0])) && pool.liveWorkers.length === 2, BOUND_MS);
    const replacement = pool.liveWorkers.find((t) => t !== Number(threads[1]))!;
    // The front end learned of the exit with the pool: the dead worker's sessions are lost at once, answered
    // by the front end itself (it names the exited worker), so neither the dead worker nor its replacement sees them.
    for (const s of doomed) {
      const o = await call(url, 'add', { by: 1n }, inSession(s.token));
      expect([o.res.status, o.res.headers.get('X-VGI-RPC-Error'), o.error, o.kind]).toEqual([200, 'true', 'SessionLostError', 'session_lost']);
      const exc = allBatches(new Uint8Array(await (await fetch(`${url}/Tally/add`, { method: 'POST', body: requestBody(Tally, 'add', { by: 1n }), headers: { 'Content-Type': ARROW, ...inSession(s.token) } })).arrayBuffer()))
        .find((b) => b.meta(Keys.logLevel) === 'EXCEPTION');
      // Each listening, the worker that accepted the request answers it: the token's hint names a worker that is gone.
      if (mode === 'main') expect(exc?.meta(Keys.logMessage)).toContain(`(${String(threads[0])}) exited`);
      else expect(exc?.meta('vgi_rpc.error_kind')).toBe('session_lost');
      const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': s.token } });
      expect([del.status, (await del.arrayBuffer()).byteLength]).toEqual([200, 0]);
    }
    // The replacement serves new sessions of its own.
    let onReplacement: { token: string; thread: unknown } | undefined;
    const later: { token: string }[] = [];
    for (let attempt = 0; attempt < 20 && onReplacement === undefined; attempt++) {
      // Each on a connection of its own: kept-alive ones stay with the worker that accepted them before the crash.
      const opened = await Promise.all(Array.from({ length: 4 }, () => open(url, newMarker(), 0n, 0n, true)));
      later.push(...opened);
      onReplacement = opened.find((o) => o.thread === BigInt(replacement));
    }
    expect(onReplacement, 'no session reached the replacement worker').toBeDefined();
    expect((await call(url, 'add', { by: 2n }, inSession(onReplacement!.token))).value).toBe(2n);
    for (const s of kept) expect((await call(url, 'add', { by: 1n }, inSession(s.token))).value).toBe(101n);
    // Release accounting: a dead thread cannot run its sessions' finalizers, and nothing runs them later
    // (no replacement holds them); each survivor is released exactly once.
    for (const s of [...kept, ...later]) {
      const del = await fetch(`${url}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': s.token } });
      await del.arrayBuffer();
      expect(del.status).toBe(204);
    }
    for (const s of kept) expect(linesOf(s.marker)).toEqual(['released 101']);
    // With every live session closed, a drain does not wait for the lost ones (they are not open anywhere).
    const t0 = Date.now();
    await server!.drain();
    server = undefined;
    expect(Date.now() - t0, 'the drain waited for the dead worker\'s sessions').toBeLessThan(GRACE_MS);
    for (const s of doomed) expect(linesOf(s.marker), 'a dead worker\'s session was released').toEqual([]);
    for (const s of kept) expect(linesOf(s.marker)).toEqual(['released 101']);
  });
});

describe('sticky sessions off HTTP', () => {
  it('opening a session over a unix socket is a RuntimeError naming HTTP; no session is ever bound', async () => {
    const runtime = await RpcRuntime.start({ services: [Tally], layer: TallyLive, workers: 0 });
    try {
      const path = pathOf('tally.sock');
      await serveUnix(runtime, path);
      const conn = new RpcConnection(connectUnix(path));
      try {
        const tally = Client.promises(Tally, conn);
        const e = await tally.open({ marker: newMarker(), initial: 1n, ttl: 0n }).then(() => undefined, (x: unknown) => x);
        expect(e).toBeInstanceOf(RpcClientError);
        expect((e as RpcClientError).errorType).toBe('RuntimeError');
        expect((e as RpcClientError).message).toContain('HTTP');
        expect(await tally.session_id({})).toBe('');
      } finally {
        await conn.close();
      }
    } finally {
      await runtime.shutdown();
    }
  });
});

describe('SIGTERM with an open sticky session (the conformance worker CLI)', () => {
  it('the readiness probe answers 503, the session keeps serving through the grace period, then the process exits 0', async () => {
    const script = new URL('../../dist/examples/conformance/worker.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [script, '--http', '--workers', '1', '--grace', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
      const origin = `http://127.0.0.1:${/^PORT:(\d+)$/.exec(line)![1]}`;
      const post = (method: string, params: Record<string, unknown>, headers: Record<string, string>) =>
        fetch(`${origin}${rpcPath('', method)}`, { method: 'POST', body: unaryRequestBody(method, params), headers: { 'Content-Type': ARROW, ...headers } });
      const opened = await post('open_counter', { initial: 3n }, ACCEPT);
      await opened.arrayBuffer();
      const token = opened.headers.get('VGI-Session')!;
      expect(token).toBeTruthy();
      const t0 = Date.now();
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      const ready = await fetch(`${origin}/readyz`);
      await ready.arrayBuffer();
      expect(ready.status).toBe(503);
      const more = await post('increment_counter', { by: 1n }, inSession(token));
      expect(resultValue(new Uint8Array(await more.arrayBuffer()))).toBe(4n);
      expect(await exited).toBe(0);
      // It waited for the session (about the 2 s grace), not longer than grace plus a generous margin.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
      expect(Date.now() - t0).toBeLessThan(BOUND_MS + 2_000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 20_000);

  it('a second SIGTERM while an open session holds the drain exits at once (130), its workers listening, not after the grace', async () => {
    const script = new URL('../../dist/examples/conformance/worker.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [script, '--http', '--workers', '2', '--grace', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
      const origin = `http://127.0.0.1:${/^PORT:(\d+)$/.exec(line)![1]}`;
      const opened = await fetch(`${origin}${rpcPath('', 'open_counter')}`, { method: 'POST', body: unaryRequestBody('open_counter', { initial: 1n }), headers: { 'Content-Type': ARROW, ...ACCEPT } });
      await opened.arrayBuffer();
      expect(opened.headers.get('VGI-Session')).toBeTruthy();
      child.kill('SIGTERM');
      for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
        const ready = await fetch(`${origin}/readyz`);
        await ready.arrayBuffer();
        if (ready.status === 503) break;
        expect(Date.now() - t0, 'readiness still 200 after SIGTERM').toBeLessThan(BOUND_MS);
      }
      const t1 = Date.now();
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(130);
      expect(Date.now() - t1).toBeLessThan(BOUND_MS);
      expect(stderr).not.toContain('uv_loop_close');
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
