/**
 * The HTTP client's sticky-session scope: it opts in, captures and replays
 * the token and the echo headers, drops them when the server closes the
 * session, hands the token over on `detachSession()`, ends a live session
 * with a DELETE when the scope ends (Promise and Effect Scope forms), and
 * nested scopes keep their own sessions.
 */
import * as Effect from 'effect/Effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, httpConnect, httpSessionScoped, type HttpConnection } from '../../src/index.js';
import { startServer, type RunningServer } from '../../transports/serve.js';
import { linesOf, markerFiles } from '../support/marker-files.js';
import { Tally, TallyLive } from '../fixtures/session-service.js';

const { newMarker } = markerFiles('vgi-http-session-client-');

let server: RunningServer;
let url: string;
/** Every request the client made: method, path and the session header it sent. */
const sent: { method: string; path: string; session: string | null; echo: string | null }[] = [];
const recording: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  const u = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  sent.push({ method: init?.method ?? 'GET', path: u.pathname, session: headers.get('VGI-Session'), echo: headers.get('x-route') });
  return fetch(input, init);
};

beforeAll(async () => {
  server = await startServer({
    services: [Tally], layer: TallyLive, workers: 0, listen: { kind: 'http' }, graceMs: 1_000,
    http: { sticky: { echoHeaders: { 'x-route': 'machine-7' } } },
  });
  url = server.address.kind === 'http' ? server.address.url : '';
});
afterAll(async () => {
  await server.drain();
});

const connect = (): Promise<HttpConnection> => httpConnect(url, { fetch: recording });
const failure = (p: Promise<unknown>): Promise<RpcClientError> => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as RpcClientError);

describe('HTTP client session scope', () => {
  it('captures the token and echo headers, replays them, and drops them when the server closes the session', async () => {
    const conn = await connect();
    const marker = newMarker();
    await conn.useSession(async (s) => {
      const tally = Client.promises(Tally, s);
      expect(s.currentSessionToken()).toBeNull();
      await tally.open({ marker, initial: 1n, ttl: 0n });
      const token = s.currentSessionToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect([...s.currentEchoHeaders()]).toEqual([['x-route', 'machine-7']]);
      sent.length = 0;
      expect(await tally.add({ by: 2n })).toBe(3n);
      expect(sent).toEqual([{ method: 'POST', path: '/Tally/add', session: token, echo: 'machine-7' }]);
      expect(await tally.close({})).toBe(3n);
      expect(s.currentSessionToken()).toBeNull();
      const e = await failure(tally.add({ by: 1n }));
      expect(e.errorType).toBe('RuntimeError');
      sent.length = 0;
    });
    // Closed by the server: leaving the scope sends nothing.
    expect(sent).toEqual([]);
    expect(linesOf(marker)).toEqual(['released 3']);
    await conn.close();
  });

  it('leaving a scope with a live session DELETEs it; a detached token resumes in another scope', async () => {
    const conn = await connect();
    const marker = newMarker();
    const token = await conn.useSession(async (s) => {
      await Client.promises(Tally, s).open({ marker, initial: 10n, ttl: 0n });
      return s.detachSession();
    });
    expect(token).not.toBeNull();
    expect(linesOf(marker)).toEqual([]);
    sent.length = 0;
    await conn.useSession(async (s) => {
      expect(await Client.promises(Tally, s).add({ by: 5n })).toBe(15n);
    }, token);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /Tally/add', 'DELETE /__session__']);
    expect(linesOf(marker)).toEqual(['released 15']);
    await conn.close();
  });

  it('nested scopes keep their own sessions', async () => {
    const conn = await connect();
    const [outerMarker, innerMarker] = [newMarker(), newMarker()];
    await conn.useSession(async (outer) => {
      await Client.promises(Tally, outer).open({ marker: outerMarker, initial: 100n, ttl: 0n });
      const outerToken = outer.currentSessionToken();
      await conn.useSession(async (inner) => {
        await Client.promises(Tally, inner).open({ marker: innerMarker, initial: 1n, ttl: 0n });
        expect(inner.currentSessionToken()).not.toBe(outerToken);
        expect(await Client.promises(Tally, inner).add({ by: 1n })).toBe(2n);
      });
      expect(outer.currentSessionToken()).toBe(outerToken);
      expect(await Client.promises(Tally, outer).add({ by: 1n })).toBe(101n);
    });
    expect([linesOf(outerMarker), linesOf(innerMarker)]).toEqual([['released 101'], ['released 2']]);
    await conn.close();
  });

  it('as an Effect Scope: closing the scope ends the session', async () => {
    const conn = await connect();
    const marker = newMarker();
    const value = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const s = yield* httpSessionScoped(conn);
      const tally = Client.promises(Tally, s);
      yield* Effect.promise(() => tally.open({ marker, initial: 4n, ttl: 0n }));
      return yield* Effect.promise(() => tally.add({ by: 1n }));
    })));
    expect(value).toBe(5n);
    expect(linesOf(marker)).toEqual(['released 5']);
    await conn.close();
  });

  it('outside a session scope, opening one is refused naming VGI-Session-Accept', async () => {
    const conn = await connect();
    const e = await failure(Client.promises(Tally, conn).open({ marker: newMarker(), initial: 0n, ttl: 0n }));
    expect(e.errorType).toBe('RuntimeError');
    expect(e.message).toContain('VGI-Session-Accept');
    expect(conn.currentSessionToken()).toBeNull();
    await conn.close();
  });
});
