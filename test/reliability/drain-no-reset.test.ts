/**
 * A server drained by SIGTERM ends every connection the kernel completed in
 * an orderly way, whenever the signal comes: while its clients are still
 * connecting, just after they connected, or under full load. A client sees
 * answers, ServerShutdownError, a clean end of stream, or (when the listener
 * was already gone) a refused connection: never a reset (ECONNRESET, EPIPE),
 * which it could not tell from a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { serveTcp } from '../../transports/tcp/tcp-server.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import type { SocketTransport } from '../../transports/socket/socket-transport.js';
import { spawnFirstLine } from '../support/first-line.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));
const CHAOS_THREAD = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);
const CONNECTIONS = 8;
/** Unary calls each round writes before reading their answers. */
const PIPELINED = 16;

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'vgi-drain-reset-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** How one client connection's work ended. */
interface Outcome {
  rounds: number;
  answers: number;
  /** The error that stopped it (undefined: it never stopped before the server exited, which cannot happen). */
  error?: string;
}

/** True for what a drained server may make a client see. */
const orderly = (e: RpcClientError): boolean =>
  e.errorType === 'ServerShutdownError'
  // A clean end of stream.
  || e.message === 'the server closed the connection'
  // The listener was gone before the connection was made (never completed by the kernel).
  || /^connect (ENOENT|ECONNREFUSED)/.test(e.message);

/**
 * Round after round on one connection: PIPELINED adds written at once, then
 * a producer stream of three batches; every answer checked. Runs until the
 * server ends the connection.
 */
const work = async (transport: SocketTransport, id: number, out: Outcome, roundDone: () => void): Promise<void> => {
  const conn = new RpcConnection(transport);
  const bench = Client.promises(Bench, conn);
  try {
    for (;;) {
      const sums = await Promise.all(Array.from({ length: PIPELINED }, (_, k) => bench.add({ a: id, b: k })));
      sums.forEach((s, k) => expect(s).toBe(id + k));
      out.answers += PIPELINED;
      const stream = await bench.produce({ n_batches: 3n, rows: 2n });
      const batches: number[][] = [];
      for await (const b of stream) batches.push(b.values('x').map(Number));
      expect(batches).toEqual([[0, 0.5], [0, 0.5], [0, 0.5]]);
      out.answers++;
      out.rounds++;
      roundDone();
    }
  } catch (e) {
    if (!(e instanceof RpcClientError)) throw e;
    out.error = orderly(e) ? 'orderly' : `${e.errorType}: ${e.message}`;
  } finally {
    await conn.close().catch(() => undefined);
  }
};

/** When the signal is sent. */
const POINTS = {
  /** As soon as the connections are dialled: they are still being set up. */
  'while the clients connect': 'dialled',
  /** Once every connection is established, as the first requests go out. */
  'just after they connected': 'connected',
  /** Once every connection has completed rounds of work. */
  'under full load': 'loaded',
} as const;

for (const kind of ['unix', 'tcp'] as const) {
  // The relay over both of its hops (`relay sab`: --hop sab).
  for (const accept of ['workers', 'relay', 'relay sab'] as const) {
    const acceptArgs = accept === 'relay sab' ? ['--accept', 'relay', '--hop', 'sab'] : ['--accept', accept];
    describe(`SIGTERM drains without resetting any connection (${kind}, accept ${accept})`, () => {
      for (const [point, when] of Object.entries(POINTS)) {
        it(`SIGTERM ${point}`, async () => {
          const path = join(dir, `${accept.replace(' ', '-')}-${when}.sock`);
          let stderr = '';
          const server = await spawnFirstLine(
            WORKER,
            [...(kind === 'unix' ? ['--unix', path] : ['--tcp', '127.0.0.1:0']), '--workers', '2', ...acceptArgs],
            (s) => s.on('data', (d: Buffer) => { stderr += d.toString(); }),
          );
          expect(server.line).not.toBeNull();
          const port = kind === 'tcp' ? Number(/:(\d+)$/.exec(server.line!)?.[1]) : 0;
          const dial = (): SocketTransport => (kind === 'unix' ? connectUnix(path) : connectTcp('127.0.0.1', port));
          const outcomes: Outcome[] = Array.from({ length: CONNECTIONS }, () => ({ rounds: 0, answers: 0 }));
          let sigterm = (): void => {
            server.child.kill('SIGTERM');
            sigterm = () => undefined;
          };
          const transports = Array.from({ length: CONNECTIONS }, dial);
          const roundDone = (): void => {
            if (when === 'loaded' && outcomes.every((o) => o.rounds >= 3)) sigterm();
          };
          const running = transports.map((t, id) => work(t, id, outcomes[id]!, roundDone));
          if (when === 'dialled') sigterm();
          if (when === 'connected') void Promise.all(transports.map((t) => t.connected)).then(() => sigterm(), () => sigterm());
          await Promise.all(running);
          expect(await server.exited, stderr).toEqual({ code: 0, signal: null });
          // Every connection ended, each in an orderly way.
          expect(outcomes.map((o) => o.error)).toEqual(Array(CONNECTIONS).fill('orderly'));
          if (when === 'loaded') expect(outcomes.every((o) => o.rounds >= 3)).toBe(true);
        });
      }
    });
  }
}

for (const accept of ['workers', 'relay'] as const) {
  describe(`a connection completed while the server drains (tcp, accept ${accept})`, () => {
    it('is accepted and its call answered with ServerShutdownError (or closed in order, never reset); the call in flight finishes', async () => {
      const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: CHAOS_THREAD, accept, graceMs: 10_000 });
      const listener = await serveTcp(runtime, '127.0.0.1', 0);
      const open = () => Client.promises(Chaos, new RpcConnection(connectTcp('127.0.0.1', listener.address.port)));
      const busy = open();
      expect(await busy.sleep({ ms: 1n })).toBe(1n);
      const inFlight = busy.sleep({ ms: 300n });
      await new Promise((r) => setTimeout(r, 50));
      const drained = runtime.drain();
      // Dialled as the drain starts: a TCP listener takes what the kernel completes until it has been quiet a moment.
      const late = (await open().sleep({ ms: 1n }).catch((e: unknown) => e)) as RpcClientError;
      expect(late).toBeInstanceOf(RpcClientError);
      // The contract (issue 9): answered with ServerShutdownError, or a clean end of stream (the drain
      // closed the connection in order before its request was read), or refused by the kernel when the
      // listener had already closed; never a reset.
      if (late.errorType === 'TransportError') expect(late.message).toMatch(/^the server closed the connection$|ECONNREFUSED/);
      else {
        expect(late.errorType).toBe('ServerShutdownError');
        expect(late.errorKind).toBe('server_draining');
      }
      expect(await inFlight).toBe(300n);
      await drained;
      expect(runtime.connections).toBe(0);
    });
  });
}
