/**
 * Interop over sockets: the npm peer's client (`pipeConnect` on a net.Socket)
 * against our interop worker on a unix socket and on TCP, served by a pool
 * of 2 worker threads. Build first: `npx tsc -p .`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RpcError, pipeConnect } from '@query-farm/vgi-rpc';
import { afterAll, describe, expect, it } from 'vitest';

const WORKER = fileURLToPath(new URL('../../dist/test/fixtures/interop-worker.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'vgi-peer-sock-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) {
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Start the worker with `args` and return its discovery line. */
const start = async (args: string[]): Promise<string> => {
  const child = spawn(process.execPath, [WORKER, ...args, '--workers', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`interop worker exited ${code}`)));
  });
};

/** A peer client on a fresh socket. */
const peerOn = async (open: () => Socket) => {
  const socket = open();
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const logs: { level: string; message: string }[] = [];
  const client = pipeConnect(socket as never, { write: (b: Uint8Array) => socket.write(b), end: () => socket.end() }, { protocol: 'Interop', onLog: (m: { level: string; message: string }) => logs.push(m) });
  return { client, logs, socket };
};

const exercise = async (open: () => Socket): Promise<void> => {
  const { client, logs, socket } = await peerOn(open);
  expect(await client.call('echo_string', { value: 'héllo' })).toEqual({ result: 'héllo' });
  expect(await client.call('with_defaults', { required: 7 })).toEqual({ result: 'required=7, optional_str=default, optional_int=42' });
  expect(await client.call('echo_with_info_log', { value: 'v' })).toEqual({ result: 'v' });
  expect(logs.map((l) => `${l.level}:${l.message}`)).toContain('INFO:info: v');
  const err = await client.call('raise_value_error', { message: 'bad' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  expect((err as RpcError).errorType).toBe('ValueError');
  const producer = await client.stream('produce_n', { count: 3 });
  const rows: unknown[] = [];
  for await (const batch of producer) rows.push(...(batch as unknown[]));
  expect(rows).toEqual([{ index: 0, value: 0 }, { index: 1, value: 10 }, { index: 2, value: 20 }]);
  const ex = await client.stream('exchange_scale', { factor: 3 });
  expect(await ex.exchange([{ value: 2 }])).toEqual([{ value: 6 }]);
  await ex.close();
  const forever = await client.stream('cancellable_producer', {});
  await forever.tick();
  await forever.cancel();
  expect(await client.call('echo_int', { value: 5 })).toEqual({ result: 5 });
  client.close();
  socket.destroy();
};

describe('the peer client over our socket transports (2 worker threads)', () => {
  it('unix socket: unary with defaults, logs, errors, producer, exchange, cancel', async () => {
    const sock = path.join(dir, 'interop.sock');
    expect(await start(['--unix', sock])).toBe(`UNIX:${sock}`);
    await Promise.all([0, 1, 2].map(() => exercise(() => connect({ path: sock }))));
  });

  it('tcp: the same over loopback', async () => {
    const line = await start(['--tcp', '127.0.0.1:0']);
    const port = Number(line.split(':')[2]);
    await Promise.all([0, 1, 2].map(() => exercise(() => connect({ host: '127.0.0.1', port }))));
  });
});
