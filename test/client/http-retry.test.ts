/**
 * The HTTP client's retry of transient failures, through a node:http stub in
 * front of the npm peer's HTTP server: the stub fails the first requests of
 * a route (503, or a connection reset) and passes the rest on. Safe requests
 * (probe, unary, /init, producer turns) are retried; exchange turns are not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, HttpError, Output, RpcClientError, httpConnect } from '../../src/index.js';
import { Interop } from '../fixtures/interop-service.js';
import { type PeerHttp, type Stub, type StubRequest, forward, reply, startPeerHttp, startStub } from '../support/http-stub.js';
import { rpcFailure } from '../support/rpc-failure.js';

let peer: PeerHttp;
beforeAll(async () => {
  peer = await startPeerHttp();
});
afterAll(async () => {
  await peer?.stop();
});

/** How the stub fails a request it does not pass on. */
type Failure = '503' | 'reset';

/**
 * A stub failing the first `times` requests whose path ends with `suffix`
 * (and method is `method`), passing everything else to the peer.
 */
const failingStub = async (suffix: string, times: number, how: Failure, method = 'POST'): Promise<Stub> => {
  let failed = 0;
  return startStub(async (req: StubRequest, res) => {
    if (req.method === method && new URL(req.url, 'http://x').pathname.endsWith(suffix) && failed < times) {
      failed++;
      if (how === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(503, { 'Retry-After': '0', 'Content-Type': 'text/plain' });
      res.end('busy, try again');
      return;
    }
    reply(res, await forward(peer.url, req));
  });
};

const hits = (stub: Stub, suffix: string): number => stub.requests.filter((r) => r.url.endsWith(suffix)).length;

const fast = { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 50 };

const failure = rpcFailure;

describe('retry of transient failures', () => {
  for (const how of ['503', 'reset'] as const) {
    it(`a unary call is retried after ${how === '503' ? 'two 503 answers' : 'two connection resets'}, then succeeds`, async () => {
      const stub = await failingStub('/Interop/echo_string', 2, how);
      try {
        const conn = await httpConnect(stub.url, { retry: fast });
        expect(await Client.promises(Interop, conn).echo_string({ value: 'third time' })).toBe('third time');
        expect(hits(stub, '/Interop/echo_string')).toBe(3);
      } finally {
        await stub.stop();
      }
    });
  }

  it('the capability probe is retried', async () => {
    const stub = await failingStub('/health', 2, '503', 'HEAD');
    try {
      const conn = await httpConnect(stub.url, { retry: fast });
      expect(conn.capabilities.responseBudgetSupport).toBe(true);
      expect(hits(stub, '/health')).toBe(3);
    } finally {
      await stub.stop();
    }
  });

  it('stream /init and producer turns are retried', async () => {
    let initFails = 1;
    let turnFails = 2;
    const stub = await startStub(async (req, res) => {
      const fail = (req.url.endsWith('/init') && initFails-- > 0) || (req.url.endsWith('/exchange') && turnFails-- > 0);
      if (fail) {
        res.writeHead(502);
        res.end();
        return;
      }
      reply(res, await forward(peer.url, req));
    });
    try {
      const conn = await httpConnect(stub.url, { retry: fast });
      const rows = [];
      for await (const b of await Client.promises(Interop, conn).produce_n({ count: 3n })) rows.push(...b.rows());
      expect(rows.map((r) => r.index)).toEqual([0n, 1n, 2n]);
      expect(hits(stub, '/produce_n/init')).toBe(2);
      expect(hits(stub, '/produce_n/exchange')).toBe(3 + 2);
    } finally {
      await stub.stop();
    }
  });

  it('an exchange turn is never retried: the 503 is the caller\'s HttpError', async () => {
    const stub = await failingStub('/exchange_scale/exchange', 1, '503');
    try {
      const conn = await httpConnect(stub.url, { retry: fast });
      const session = await Client.promises(Interop, conn).exchange_scale({ factor: 2 });
      const e = await failure(session.exchange(Output.rows([{ value: 1 }])));
      expect(e).toBeInstanceOf(HttpError);
      expect([e.errorType, (e as HttpError).status, (e as HttpError).retryAfterMs]).toEqual(['HttpTransientError', 503, 0]);
      expect(e.message).toMatch(/busy, try again/);
      expect(hits(stub, '/exchange_scale/exchange')).toBe(1);
    } finally {
      await stub.stop();
    }
  });

  it('with retry off, or once retries run out, a transient failure is an HttpTransientError / TransportError', async () => {
    const stub = await failingStub('/Interop/echo_string', 10, '503');
    const resets = await failingStub('/Interop/echo_string', 10, 'reset');
    try {
      const off = await httpConnect(stub.url, { retry: false });
      const e = await failure(Client.promises(Interop, off).echo_string({ value: 'x' }));
      expect([e.errorType, (e as HttpError).status]).toEqual(['HttpTransientError', 503]);
      expect(hits(stub, '/Interop/echo_string')).toBe(1);
      const two = await httpConnect(stub.url, { retry: { ...fast, maxRetries: 2 } });
      await failure(Client.promises(Interop, two).echo_string({ value: 'x' }));
      expect(hits(stub, '/Interop/echo_string')).toBe(1 + 3);
      const reset = await httpConnect(resets.url, { retry: { ...fast, maxRetries: 1 } });
      const t = await failure(Client.promises(Interop, reset).echo_string({ value: 'x' }));
      expect(t.errorType).toBe('TransportError');
      expect(hits(resets, '/Interop/echo_string')).toBe(2);
    } finally {
      await Promise.all([stub.stop(), resets.stop()]);
    }
  });

  it('waits at least what Retry-After asks (capped by maxDelayMs)', async () => {
    let failed = false;
    const stub = await startStub(async (req, res) => {
      if (req.url.endsWith('/echo_string') && !failed) {
        failed = true;
        res.writeHead(503, { 'Retry-After': '1' });
        res.end();
        return;
      }
      reply(res, await forward(peer.url, req));
    });
    try {
      const conn = await httpConnect(stub.url, { retry: { maxRetries: 1, baseDelayMs: 0, maxDelayMs: 5000 } });
      const started = performance.now();
      expect(await Client.promises(Interop, conn).echo_string({ value: 'later' })).toBe('later');
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await stub.stop();
    }
  });
});
