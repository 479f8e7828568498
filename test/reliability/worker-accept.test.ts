/**
 * Connections accepted by the workers themselves (the default accept mode
 * with a pool): they spread evenly over the workers, a worker that dies
 * fails only its own connections (with WorkerCrashedError when it had the
 * chance to say so) and its replacement accepts again, and a drain finishes
 * accepted calls and stops accepting everywhere.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { serveUnix } from '../../transports/unix/unix-server.js';
import { serveTcp } from '../../transports/tcp/tcp-server.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import type { SocketTransport } from '../../transports/socket/socket-transport.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';

const WORKER = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);

type ChaosClient = ReturnType<typeof Client.promises<'Chaos', typeof Chaos.methods>>;

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'vgi-accept-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = async (kind: 'unix' | 'tcp', graceMs = 10_000, accept: 'workers' | 'default' = 'workers') => {
  const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: WORKER, graceMs, resourceLimits: { maxOldGenerationSizeMb: 64 }, ...(accept === 'default' ? {} : { accept }) });
  expect(runtime.acceptsInWorkers).toBe(accept === 'workers');
  let dial: () => SocketTransport;
  if (kind === 'unix') {
    const path = join(dir, `s${Math.random().toString(36).slice(2)}.sock`);
    await serveUnix(runtime, path);
    dial = () => connectUnix(path);
  } else {
    const listener = await serveTcp(runtime, '127.0.0.1', 0);
    dial = () => connectTcp('127.0.0.1', listener.address.port);
  }
  const open = (): { chaos: ChaosClient; conn: RpcConnection } => {
    const conn = new RpcConnection(dial());
    return { chaos: Client.promises(Chaos, conn), conn };
  };
  return { runtime, open };
};

for (const kind of ['unix', 'tcp'] as const) {
  describe(`connections accepted by the workers (${kind})`, () => {
    it('spread evenly over the two workers, and the main thread serves none', async () => {
      const { runtime, open } = await start(kind);
      const perThread = new Map<bigint, number>();
      const conns: RpcConnection[] = [];
      for (let i = 0; i < 10; i++) {
        const { chaos, conn } = open();
        conns.push(conn);
        const id = await chaos.thread();
        perThread.set(id, (perThread.get(id) ?? 0) + 1);
      }
      expect(perThread.size).toBe(2);
      const [a, b] = [...perThread.values()] as [number, number];
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
      // Thread id 0 would be the main thread.
      expect(perThread.has(0n)).toBe(false);
      expect(runtime.connections).toBe(10);
      await Promise.all(conns.map((c) => c.close()));
      await runtime.shutdown();
    });

    for (const how of ['throw', 'exit', 'oom'] as const) {
      it(`a worker killed by ${how} fails only its own connections; the other's calls complete; its replacement accepts`, async () => {
        const { runtime, open } = await start(kind);
        const byThread = new Map<bigint, ChaosClient>();
        for (let i = 0; i < 20 && byThread.size < 2; i++) {
          const { chaos } = open();
          const id = await chaos.thread();
          if (!byThread.has(id)) byThread.set(id, chaos);
        }
        const [[victimId, victim], [otherId, other]] = [...byThread.entries()] as [[bigint, ChaosClient], [bigint, ChaosClient]];
        const survivors = Array.from({ length: 8 }, () => other.sleep({ ms: 300n }));
        const err = (await victim.crash({ how }).catch((e: unknown) => e)) as RpcClientError;
        expect(err).toBeInstanceOf(RpcClientError);
        if (how === 'oom') {
          // A heap overflow stops the thread before it can write anything: the connection just closes.
          expect(err.errorType).toMatch(/WorkerCrashedError|TransportError/);
        } else {
          expect(err.errorType).toBe('WorkerCrashedError');
          expect(err.message).toMatch(how === 'throw' ? /chaos: uncaught throw/ : /exited with code 7/);
        }
        expect(await Promise.all(survivors)).toEqual(Array(8).fill(300n));
        // The replacement gets a descriptor and takes new connections (it has fewer than the survivor).
        const seen = new Set<bigint>();
        for (let i = 0; i < 30 && seen.size < 2; i++) {
          const deadline = Date.now() + 5_000;
          for (;;) {
            try {
              seen.add(await open().chaos.thread());
              break;
            } catch (e) {
              if (Date.now() > deadline) throw e;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
        expect(seen.has(otherId)).toBe(true);
        expect(seen.has(victimId)).toBe(false);
        expect(seen.size).toBe(2);
        expect(runtime.workers).toBe(2);
        await runtime.shutdown();
      });
    }

    it('drain: accepted calls finish, new connections are refused, the listener is gone', async () => {
      const { runtime, open } = await start(kind);
      const clients = Array.from({ length: 6 }, () => open().chaos);
      await Promise.all(clients.map((c) => c.thread()));
      const calls = clients.flatMap((c) => [c.sleep({ ms: 200n }), c.sleep({ ms: 250n })]);
      await new Promise((r) => setTimeout(r, 50));
      const drained = runtime.drain();
      await new Promise((r) => setTimeout(r, 50));
      const late = await open().chaos.thread().catch((e: unknown) => e);
      expect(late).toBeInstanceOf(RpcClientError);
      expect(await Promise.all(calls)).toEqual(clients.flatMap(() => [200n, 250n]));
      await drained;
      expect(runtime.connections).toBe(0);
    });

    it('drain: a call still running when the grace period ends gets ServerShutdownError', async () => {
      const { runtime, open } = await start(kind, 200);
      const { chaos } = open();
      await chaos.thread();
      const slow = chaos.sleep({ ms: 60_000n }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      await runtime.drain();
      const err = (await slow) as RpcClientError;
      expect(err).toBeInstanceOf(RpcClientError);
      expect(err.errorType).toBe('ServerShutdownError');
      expect(err.message).toContain('grace period');
    });
  });
}

describe('worker heap limits without an accept mode', () => {
  it('relay connections through the main thread, so a heap overflow still answers WorkerCrashedError', async () => {
    const { runtime, open } = await start('unix', 10_000, 'default');
    const byThread = new Map<bigint, ChaosClient>();
    for (let i = 0; i < 20 && byThread.size < 2; i++) {
      const { chaos } = open();
      const id = await chaos.thread();
      if (!byThread.has(id)) byThread.set(id, chaos);
    }
    const [[, victim], [, other]] = [...byThread.entries()] as [[bigint, ChaosClient], [bigint, ChaosClient]];
    const survivors = Array.from({ length: 4 }, () => other.sleep({ ms: 200n }));
    const err = (await victim.crash({ how: 'oom' }).catch((e: unknown) => e)) as RpcClientError;
    expect(err).toBeInstanceOf(RpcClientError);
    expect(err.errorType).toBe('WorkerCrashedError');
    expect(err.message).toMatch(/memory|heap|ERR_WORKER_OUT_OF_MEMORY/i);
    expect(await Promise.all(survivors)).toEqual(Array(4).fill(200n));
    await runtime.shutdown();
  });
});

describe('unix socket file with workers accepting', () => {
  it('is in place while serving and removed by the drain', async () => {
    const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: WORKER });
    const path = join(dir, 'file.sock');
    await serveUnix(runtime, path);
    expect(existsSync(path)).toBe(true);
    expect(await Client.promises(Chaos, new RpcConnection(connectUnix(path))).sleep({ ms: 1n })).toBe(1n);
    await runtime.drain();
    expect(existsSync(path)).toBe(false);
  });
});
