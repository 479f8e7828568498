/**
 * A client that goes away (destroys its socket, as a dying process does)
 * interrupts what its connection is running, over unix and TCP, in every
 * accept mode (the relay over both of its hops): the handler's finalizers run, the connection is released and
 * the server keeps serving. A client that only half-closes (ends its side)
 * still gets the answers to what it sent, even for calls still running when
 * its end arrives.
 */
import { linesOf, markerFiles, waitFor as waitUntil } from '../support/marker-files.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { serveUnix } from '../../transports/unix/unix-server.js';
import { serveTcp } from '../../transports/tcp/tcp-server.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import type { SocketTransport } from '../../transports/socket/socket-transport.js';
import { Hang, HangLive } from '../fixtures/hang-service.js';

const WORKER = new URL('../../dist/test/fixtures/hang-worker-thread.js', import.meta.url);

/** How long a finalizer may take to run after the client vanished (the target is 100 ms; the machine may be loaded). */
const BOUND_MS = 3_000;

const { newMarker, pathOf } = markerFiles('vgi-gone-');
const waitFor = (cond: () => boolean, ms = BOUND_MS): Promise<number> => waitUntil(cond, ms);

const MODES = [
  { name: 'workers accept', workers: 2, accept: 'workers' },
  { name: 'relay', workers: 2, accept: 'relay' },
  { name: 'relay, hop sab', workers: 2, accept: 'relay', hop: 'sab' },
  { name: 'in-thread', workers: 0, accept: undefined },
] as const;

const measured: string[] = [];
afterAll(() => { if (measured.length > 0) process.stdout.write(`finalizer latency after the client vanished: ${measured.join(', ')}\n`); });

for (const kind of ['unix', 'tcp'] as const) {
  for (const mode of MODES) {
    describe(`a vanished client over ${kind} (${mode.name})`, () => {
      let runtime: RpcRuntime;
      let dial: () => SocketTransport;
      beforeAll(async () => {
        runtime = await RpcRuntime.start({
          services: [Hang], layer: HangLive, workers: mode.workers, workerModule: WORKER, graceMs: 1_000,
          ...(mode.accept === undefined ? {} : { accept: mode.accept }),
          ...('hop' in mode ? { hop: mode.hop } : {}),
        });
        if (kind === 'unix') {
          const path = pathOf(`${mode.workers}-${mode.accept ?? 'main'}${'hop' in mode ? `-${mode.hop}` : ''}.sock`);
          await serveUnix(runtime, path);
          dial = () => connectUnix(path);
        } else {
          const listener = await serveTcp(runtime, '127.0.0.1', 0);
          dial = () => connectTcp('127.0.0.1', listener.address.port);
        }
      });
      afterAll(() => runtime.shutdown());

      const open = () => {
        const transport = dial();
        const conn = new RpcConnection(transport);
        return { transport, conn, hang: Client.promises(Hang, conn) };
      };

      /** The server still serves a new connection, and every connection is released. */
      const stillServing = async (): Promise<void> => {
        const { conn, hang } = open();
        expect(await hang.echo({ text: 'still here' })).toBe('still here');
        await conn.close();
        await waitFor(() => runtime.connections === 0);
      };

      const vanish = async (transport: SocketTransport, marker: string, released: readonly string[]): Promise<void> => {
        const t0 = Date.now();
        transport.socket.destroy();
        await waitFor(() => released.every((r) => linesOf(marker).includes(r)));
        measured.push(`${kind}/${mode.name}: ${Date.now() - t0} ms`);
        await waitFor(() => runtime.connections === 0);
      };

      it('interrupts its running unary call: the finalizer runs and the connection is released', async () => {
        const marker = newMarker();
        const { transport, hang } = open();
        const call = hang.hang({ marker }).catch((e: unknown) => e);
        await waitFor(() => linesOf(marker).includes('call acquired'));
        expect(runtime.connections).toBe(1);
        await vanish(transport, marker, ['call released interrupted']);
        // The client closed it, not the server: the pending call and a later one say so.
        const err = (await call) as RpcClientError;
        expect(err).toBeInstanceOf(RpcClientError);
        expect(err.errorType).toBe('TransportError');
        expect(err.message).toBe('the client closed the connection');
        const late = (await hang.echo({ text: 'late' }).catch((e: unknown) => e)) as RpcClientError;
        expect(late.message).toBe('the client closed the connection');
        await stillServing();
      });

      it('interrupts a producer turn that never ends and closes its stream', async () => {
        const marker = newMarker();
        const { transport, hang } = open();
        const stream = await hang.hang_turn({ marker });
        const tick = stream.tick().catch((e: unknown) => e);
        await waitFor(() => linesOf(marker).includes('turn acquired'));
        await vanish(transport, marker, ['turn released interrupted', 'stream released interrupted']);
        expect(((await tick) as RpcClientError).message).toBe('the client closed the connection');
        await stillServing();
      });

      it('closes a stream idle between turns', async () => {
        const marker = newMarker();
        const { transport, hang } = open();
        const stream = await hang.ticks({ marker });
        expect((await stream.tick())!.values('n')).toEqual([0n]);
        expect((await stream.tick())!.values('n')).toEqual([1n]);
        expect(linesOf(marker)).toEqual(['stream acquired']);
        await vanish(transport, marker, ['stream released interrupted']);
        await stillServing();
      });

      it('a half-closed client still gets the answers to calls running when its end arrives', async () => {
        const { transport, hang } = open();
        const naps = [hang.nap({ ms: 300n }), hang.nap({ ms: 50n }), hang.nap({ ms: 100n })];
        await new Promise((r) => setTimeout(r, 100));
        transport.socket.end();
        expect(await Promise.all(naps)).toEqual([300n, 50n, 100n]);
        await waitFor(() => runtime.connections === 0);
        await stillServing();
      });

      it('a call made after the client closed the connection says the client closed it', async () => {
        const { conn, hang } = open();
        expect(await hang.echo({ text: 'before' })).toBe('before');
        await conn.close();
        const err = (await hang.echo({ text: 'after' }).catch((e: unknown) => e)) as RpcClientError;
        expect(err).toBeInstanceOf(RpcClientError);
        expect(err.errorType).toBe('TransportError');
        expect(err.message).toBe('the client closed the connection');
      });

      it('a call on a connection the server ended says the server closed it', async () => {
        const { transport, conn, hang } = open();
        // Garbage ends the connection from the server's side, after a ProtocolError stream.
        await transport.write([Buffer.from('this is not arrow at all\n'.repeat(4))]);
        const first = (await hang.echo({ text: 'x' }).catch((e: unknown) => e)) as RpcClientError;
        expect(first.errorType).toBe('ProtocolError');
        const second = (await hang.echo({ text: 'y' }).catch((e: unknown) => e)) as RpcClientError;
        expect(second.errorType).toBe('TransportError');
        expect(second.message).toBe('the server closed the connection');
        await conn.close();
        await waitFor(() => runtime.connections === 0);
      });
    });
  }
}
