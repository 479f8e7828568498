/**
 * The in-process `shm` transport: `startServer({ listen: { kind: 'shm' } })`
 * and `open({ inProcess })`, served on pool workers (the compiled worker-thread
 * modules: build first) or on the main thread; a client in another thread
 * given the channel; a worker that dies under a call (WorkerCrashedError,
 * the other connections keep working); the drain.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, type RpcConnection } from '../../../src/index.js';
import { Bench, BenchLive } from '../../../examples/bench/bench-service.js';
import { Hang, HangLive } from '../../fixtures/hang-service.js';
import { open } from '../../../transports/connect-entry.js';
import { type RunningServer, startServer } from '../../../transports/server-entry.js';
import type { ShmAcceptor } from '../../../transports/shm/shm-server.js';

const benchModule = new URL('../../../dist/examples/bench/worker-thread.js', import.meta.url);
const hangModule = new URL('../../../dist/test/fixtures/hang-worker-thread.js', import.meta.url);
const CLIENT_THREAD = fileURLToPath(new URL('../../../dist/test/fixtures/shm-client-thread.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'vgi-shm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const acceptorOf = (server: RunningServer): ShmAcceptor => (server.endpoint as { inProcess: ShmAcceptor }).inProcess;

describe('shm transport', () => {
  for (const workers of [2, 0]) {
    it(`serves calls over SAB channels (${workers === 0 ? 'main thread' : `${workers} workers`}), small and larger than the ring; drain stops it`, async () => {
      const server = await startServer({ services: [Bench], layer: BenchLive, workerModule: benchModule, workers, listen: { kind: 'shm', ringBytes: 4096 } });
      expect(server.address).toEqual({ kind: 'shm' });
      expect(server.discovery).toBe('');
      const conns: RpcConnection[] = [];
      try {
        for (let i = 0; i < 3; i++) conns.push(await open(server.endpoint as { inProcess: ShmAcceptor }));
        const results = await Promise.all(conns.map((c, i) => Client.promises(Bench, c).add({ a: i, b: 0.5 })));
        expect(results).toEqual([0.5, 1.5, 2.5]);
        const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
        const echoed = await Client.promises(Bench, conns[0]!).echo_bytes({ data });
        expect(Buffer.from(echoed).equals(Buffer.from(data))).toBe(true);
        expect(server.runtime.connections).toBe(3);
      } finally {
        await Promise.all(conns.map((c) => c.close()));
      }
      await server.drain();
      expect(await server.stopped).toEqual({});
      await expect(open(server.endpoint as { inProcess: ShmAcceptor })).rejects.toMatchObject({ errorType: 'TransportError' });
    });
  }

  it('a client in another thread opens the channel it is handed and calls a service in a worker', async () => {
    const server = await startServer({ services: [Bench], layer: BenchLive, workerModule: benchModule, workers: 1, listen: { kind: 'shm', ringBytes: 64 * 1024 } });
    try {
      const handle = await acceptorOf(server).openChannel();
      const client = new Worker(CLIENT_THREAD, { workerData: handle });
      const reply = await new Promise<{ threadId: number; sum: number; echoedOk: boolean }>((resolve, reject) => {
        client.once('message', resolve);
        client.once('error', reject);
      });
      expect(reply.sum).toBe(42);
      expect(reply.echoedOk).toBe(true);
      expect(reply.threadId).not.toBe(server.runtime.threads[0]!.threadId);
    } finally {
      await server.drain();
    }
  });

  it('a worker thread that dies under a call answers its client with WorkerCrashedError; the server keeps serving', async () => {
    const server = await startServer({ services: [Hang], layer: HangLive, workerModule: hangModule, workers: 2, listen: { kind: 'shm' } });
    try {
      const first = await open(server.endpoint as { inProcess: ShmAcceptor });
      const second = await open(server.endpoint as { inProcess: ShmAcceptor });
      // Round-robin over the live workers: the two connections are on the two workers.
      expect(await Client.promises(Hang, first).echo({ text: 'up' })).toBe('up');
      const hanging = Client.promises(Hang, first).hang({ marker: join(dir, 'marker') });
      hanging.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      // Connection #1 went to liveWorkers[1 % 2] (see serveShm): kill that thread.
      const victim = server.runtime.threads.find((t) => t.threadId === server.runtime.workerPool!.liveWorkers[1]);
      expect(victim).toBeDefined();
      await victim!.terminate();
      const e = await hanging.then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(RpcClientError);
      expect((e as RpcClientError).errorType).toBe('WorkerCrashedError');
      expect((e as RpcClientError).message).toMatch(/worker thread serving this connection died/);
      await first.close();
      // The other worker's connection still works, and a new connection lands on a live worker.
      expect(await Client.promises(Hang, second).echo({ text: 'still' })).toBe('still');
      await second.close();
      await new Promise((r) => setTimeout(r, 200));
      const third = await open(server.endpoint as { inProcess: ShmAcceptor });
      expect(await Client.promises(Hang, third).echo({ text: 'new' })).toBe('new');
      await third.close();
    } finally {
      await server.shutdown();
    }
  });

  it('a drain interrupts a call still running when its grace ends, with ServerShutdownError', async () => {
    const server = await startServer({ services: [Hang], layer: HangLive, workerModule: hangModule, workers: 1, graceMs: 300, listen: { kind: 'shm' } });
    const conn = await open(server.endpoint as { inProcess: ShmAcceptor });
    const hanging = Client.promises(Hang, conn).hang({ marker: join(dir, 'marker2') });
    hanging.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await server.drain();
    const e = await hanging.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RpcClientError);
    expect((e as RpcClientError).errorType).toBe('ServerShutdownError');
    await conn.close();
  });
});
