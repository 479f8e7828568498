/**
 * `http: { listeners: 'workers' }`: every worker listens on the port itself
 * (SO_REUSEPORT) and the kernel spreads connections among them. Requests on
 * fresh connections reach both workers; a stream whose state is a closure
 * (it cannot resume anywhere else) is continued turn after turn on fresh
 * connections, so most turns arrive at the worker that does not hold it and
 * must travel to the one that does (the thread id sealed into its tokens'
 * nonces); a sticky session likewise. An `authenticate` hook given to the main thread, and heap
 * limits, are refused in this mode. The route hint itself: written into
 * every nonce, read back without the key, and ignored when it is another
 * process's.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../transports/serve.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { TokenSealer, tokenRouteHint } from '../../src/http/state-tokens.js';
import { hintedThread, routeHint } from '../../transports/http/route-hint.js';
import { Unauthorized } from '../../transports/http/unauthorized.js';
import { Tally, TallyLive } from '../fixtures/session-service.js';
import { markerFiles } from '../support/marker-files.js';
import { allBatches, continuationBody, requestBody, resultValue, tokenSentinel } from '../conformance/http/http-support.js';

const SESSION_WORKER = new URL('../../dist/test/fixtures/session-worker-thread.js', import.meta.url);
const { newMarker } = markerFiles('vgi-http-listeners-');

const EXIT_FIXTURE = fileURLToPath(new URL('../../dist/test/fixtures/exit-with-listeners.js', import.meta.url));
const CHAOS_WORKER = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);
const ARROW = 'application/vnd.apache.arrow.stream';

/** POST on a connection of its own (no keep-alive: the kernel picks the worker for each). */
const postFresh = (url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Uint8Array }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'Content-Type': ARROW, 'Content-Length': String(body.byteLength), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

const urlOf = (s: RunningServer): string => (s.address.kind === 'http' ? s.address.url : '');

const threadOf = async (url: string): Promise<bigint> => {
  const res = await postFresh(`${url}/Chaos/thread`, requestBody(Chaos, 'thread'));
  const b = allBatches(res.body).find((x) => x.numRows > 0);
  return b!.toRecordBatch().getChildAt(0)!.get(0) as bigint;
};

describe("HTTP with listeners: 'workers'", () => {
  it('a process that exits while its workers listen (process.exit, an uncaught error) exits with its own code, not an abort in the workers\' teardown', async () => {
    const exitOf = (how: string): Promise<{ code: number | null; signal: string | null; out: string; err: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [EXIT_FIXTURE, how], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve({ code, signal, out, err }));
      });
    for (const [how, code] of [['3', 3], ['0', 0], ['throw', 1]] as const) {
      const r = await exitOf(how);
      expect(r.out, r.err).toContain('answered');
      // Without the main thread closing the workers' uWS sockets first, Node aborts (134, SIGABRT) with
      // "uv_loop_close() while having open handles".
      expect(r.err).not.toContain('uv_loop_close');
      expect({ code: r.code, signal: r.signal }, r.err).toEqual({ code, signal: null });
      if (how === 'throw') expect(r.err).toContain('an uncaught failure of the program');
    }
  }, 60_000);

  it('fresh connections reach both workers; a closure-state stream continues on fresh connections, every turn served by its owner', async () => {
    const server = await startServer({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: CHAOS_WORKER, listen: { kind: 'http' }, http: { listeners: 'workers', engine: 'uws' } });
    try {
      const url = urlOf(server);
      const threads = new Set<bigint>();
      for (let i = 0; i < 24 && threads.size < 2; i++) threads.add(await threadOf(url));
      expect(threads.size, 'the kernel never spread connections over both workers').toBe(2);

      const TURNS = 16;
      const init = await postFresh(`${url}/Chaos/count/init`, requestBody(Chaos, 'count', { n: BigInt(TURNS + 1) }));
      let sentinel = tokenSentinel(allBatches(init.body));
      expect(sentinel, `no tokens on /init (HTTP ${init.status})`).toBeDefined();
      const call = sentinel!.meta(Keys.callState)!;
      let cursor = sentinel!.meta(Keys.streamState)!;
      const seen: bigint[] = [];
      for (let turn = 0; turn < TURNS; turn++) {
        const res = await postFresh(`${url}/Chaos/count/exchange`, continuationBody(cursor, call));
        const batches = allBatches(res.body);
        const error = batches.find((b) => b.meta(Keys.logLevel) === 'EXCEPTION');
        expect(error?.meta(Keys.logMessage), `turn ${turn}`).toBeUndefined();
        const rows = batches.find((b) => b.numRows > 0);
        seen.push(rows!.toRecordBatch().getChildAt(0)!.get(0) as bigint);
        sentinel = tokenSentinel(batches);
        cursor = sentinel!.meta(Keys.streamState)!;
      }
      // /init produced 0; a stream whose state no other worker can rebuild went on from 1.
      expect(seen).toEqual(Array.from({ length: TURNS }, (_, i) => BigInt(i + 1)));
    } finally {
      await server.drain();
    }
  });

  it('a sticky session opened on one worker is served by it on fresh connections (each turn adds to the same tally)', async () => {
    const server = await startServer({
      services: [Tally], layer: TallyLive, workers: 2, workerModule: SESSION_WORKER, listen: { kind: 'http' }, graceMs: 1_000,
      http: { listeners: 'workers', engine: 'uws', sticky: {} },
    });
    try {
      const url = urlOf(server);
      const opened = await postFresh(`${url}/Tally/open`, requestBody(Tally, 'open', { marker: newMarker(), initial: 100n, ttl: 0n }), { 'VGI-Session-Accept': 'true' });
      const token = opened.headers['vgi-session'] as string;
      expect(token).toBeTruthy();
      for (let i = 1; i <= 12; i++) {
        const r = await postFresh(`${url}/Tally/add`, requestBody(Tally, 'add', { by: 1n }), { 'VGI-Session-Accept': 'true', 'VGI-Session': token });
        expect(r.headers['x-vgi-rpc-error'], `add ${i}`).toBeUndefined();
        expect(resultValue(r.body)).toBe(100n + BigInt(i));
      }
    } finally {
      await server.drain();
    }
  });

  it('a worker that dies takes its listener with it; the others keep serving and its replacement listens again', async () => {
    const server = await startServer({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: CHAOS_WORKER, listen: { kind: 'http' }, http: { listeners: 'workers', engine: 'uws' } });
    try {
      const url = urlOf(server);
      const before = new Set<bigint>();
      for (let i = 0; i < 24 && before.size < 2; i++) before.add(await threadOf(url));
      expect(before.size).toBe(2);
      const crashed = await postFresh(`${url}/Chaos/crash`, requestBody(Chaos, 'crash', { how: 'exit' }));
      const error = allBatches(crashed.body).find((b) => b.meta(Keys.logLevel) === 'EXCEPTION');
      expect(error?.meta(Keys.logMessage)).toMatch(/WorkerCrashedError/);
      // A connection the kernel queued on the dying worker's socket as it closed is reset (SO_REUSEPORT
      // gives each listener its own queue); new ones go to the survivor, then to the replacement too.
      const deadline = Date.now() + 15_000;
      let replacement: bigint | undefined;
      let served = 0;
      while (replacement === undefined && Date.now() < deadline) {
        const t = await threadOf(url).catch(() => undefined);
        if (t === undefined) continue;
        served++;
        if (!before.has(t)) replacement = t;
      }
      expect(served).toBeGreaterThan(0);
      expect(replacement, 'no replacement worker ever answered on the port').toBeDefined();
    } finally {
      await server.drain();
    }
  });

  it('a port another server holds is refused, even one that shares its port (SO_REUSEPORT)', async () => {
    const first = await startServer({ services: [Chaos], layer: ChaosLive, workers: 1, workerModule: CHAOS_WORKER, listen: { kind: 'http' }, http: { listeners: 'workers', engine: 'uws' } });
    try {
      const port = first.address.kind === 'http' ? first.address.port : 0;
      const second = startServer({ services: [Chaos], layer: ChaosLive, workers: 1, workerModule: CHAOS_WORKER, listen: { kind: 'http', port }, http: { listeners: 'workers', engine: 'uws' } });
      await expect(second).rejects.toThrow(/address in use/);
      expect(typeof (await threadOf(urlOf(first)))).toBe('bigint');
    } finally {
      await first.drain();
    }
  });

  it('an authenticate hook on the main thread is refused with a clear error (it belongs in the worker module)', async () => {
    const start = startServer({
      services: [Chaos], layer: ChaosLive, workers: 1, workerModule: CHAOS_WORKER, listen: { kind: 'http' },
      http: { listeners: 'workers', engine: 'uws', authenticate: () => { throw new Unauthorized('missing_credential', 'no'); } },
    });
    await expect(start).rejects.toThrow(/listeners 'workers' cannot use http.authenticate/);
  });

  it("the worker module's authenticate hook guards each worker's listener (401 without credentials); the default mode refuses to start with it", async () => {
    const AUTH_WORKER = new URL('../../dist/test/fixtures/chaos-auth-worker-thread.js', import.meta.url);
    const server = await startServer({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: AUTH_WORKER, listen: { kind: 'http' }, http: { listeners: 'workers', engine: 'uws' } });
    try {
      const url = urlOf(server);
      for (let i = 0; i < 6; i++) {
        const refused = await postFresh(`${url}/Chaos/thread`, requestBody(Chaos, 'thread'));
        expect(refused.status).toBe(401);
        expect(refused.headers['vgi-auth-reason']).toBe('missing_credential');
        const allowed = await postFresh(`${url}/Chaos/thread`, requestBody(Chaos, 'thread'), { 'X-Principal': 'alice' });
        expect(allowed.status).toBe(200);
      }
    } finally {
      await server.drain();
    }
    const main = startServer({ services: [Chaos], layer: ChaosLive, workers: 1, workerModule: AUTH_WORKER, listen: { kind: 'http' }, http: { listeners: 'main' } });
    await expect(main).rejects.toThrow(/worker module sets an authenticate hook/);
  });

  it('heap limits (resourceLimits) are refused: a worker killed by its limit would abort the process with its listener open', async () => {
    const start = startServer({
      services: [Chaos], layer: ChaosLive, workers: 1, workerModule: CHAOS_WORKER, listen: { kind: 'http' },
      resourceLimits: { maxOldGenerationSizeMb: 256 }, http: { listeners: 'workers', engine: 'uws' },
    });
    await expect(start).rejects.toThrow(/cannot run under resourceLimits/);
  });
});

describe('route hints in token nonces', () => {
  const key = new Uint8Array(32).fill(7);
  const scope = { protocol: 'P' };
  const callId = new Uint8Array(16).fill(1);

  it('every token a hinted sealer makes carries the hint, and still opens; an unhinted one carries random bytes', () => {
    const hint = routeHint(0xbeef, 70_001);
    const sealer = new TokenSealer({ key, routeHint: hint });
    const cursor = sealer.sealCursor({ callId, state: new Uint8Array([1, 2, 3]) }, scope);
    const session = sealer.sealSession({ serverId: 's', sessionId: new Uint8Array(12), expiresAt: 9 }, {});
    for (const t of [cursor, session]) expect(tokenRouteHint(t)).toEqual(hint);
    expect(sealer.openCursor(cursor, scope).state).toEqual(new Uint8Array([1, 2, 3]));
    expect(hintedThread(cursor, 0xbeef)).toBe(70_001 & 0xffff);
    expect(hintedThread(session, 0xbeef)).toBe(70_001 & 0xffff);
    // Another process's tag: no hint.
    expect(hintedThread(cursor, 0xbeee)).toBeUndefined();
    const plain = new TokenSealer({ key });
    // Each of another call (the call's last cursor would be given again within its second).
    const hints = new Set(Array.from({ length: 8 }, (_, i) => String(tokenRouteHint(plain.sealCursor({ callId: new Uint8Array(16).fill(i + 2), state: new Uint8Array(0) }, scope)))));
    expect(hints.size).toBeGreaterThan(1);
    expect(tokenRouteHint('short')).toBeUndefined();
  });
});
