import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, RpcConnection } from '../../src/index.js';
import type { ClientTransport } from '../../src/client/connection.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import { errorOf, readResponse } from '../support/raw-exchange.js';
import { type FirstLine, spawnFirstLine } from '../support/first-line.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));

/** A spawned bench worker: its discovery line (or null if it exited first), stderr so far, and its exit. */
interface Worker extends FirstLine {
  readonly stderr: () => string;
}

const startWorker = async (args: readonly string[]): Promise<Worker> => {
  let err = '';
  const started = await spawnFirstLine(WORKER, args, (stderr) => stderr.on('data', (d: Buffer) => { err += d.toString(); }));
  return { ...started, stderr: () => err };
};

/**
 * The matches of `pattern` in the worker's stderr once there is one: a worker thread's log line
 * reaches stderr through the main thread, possibly after the error stream reached the client.
 */
const loggedLines = async (w: Worker, pattern: RegExp): Promise<string[]> => {
  for (let i = 0; i < 200 && !pattern.test(w.stderr()); i++) await new Promise((r) => setTimeout(r, 10));
  return w.stderr().match(new RegExp(pattern.source, 'g')) ?? [];
};

const dir = mkdtempSync(join(tmpdir(), 'vgi-sock-'));
let nextSock = 0;
const sockPath = (): string => join(dir, `s${nextSock++}.sock`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 200 pipelined adds, a producer and an exchange on one connection, every result checked. */
const workload = async (transport: ClientTransport, id: number): Promise<void> => {
  const conn = new RpcConnection(transport);
  const bench = Client.promises(Bench, conn);
  const sums = await Promise.all(Array.from({ length: 200 }, (_, k) => bench.add({ a: id, b: k * 0.5 })));
  sums.forEach((s, k) => expect(s).toBe(id + k * 0.5));
  const producer = await bench.produce({ n_batches: 3n, rows: BigInt(id + 1) });
  const batches: number[][] = [];
  for await (const b of producer) batches.push(b.values('x').map(Number));
  expect(batches).toEqual(Array.from({ length: 3 }, () => Array.from({ length: id + 1 }, (_, k) => k * 0.5)));
  const ex = await bench.double({ factor: id });
  for (let r = 0; r < 3; r++) {
    const out = await ex.exchange({ _tag: 'columns', columns: { x: [r, r + 0.25] }, metadata: undefined });
    expect(out.values('x')).toEqual([r * id, (r + 0.25) * id]);
  }
  await ex.close();
  expect(await bench.add({ a: id, b: -id })).toBe(0);
  await conn.close();
};

const CONNECTIONS = 16;

describe('unix socket server', () => {
  let w: Worker;
  let path: string;
  beforeAll(async () => {
    path = sockPath();
    w = await startWorker(['--unix', path]);
  });
  afterAll(async () => {
    w.child.kill('SIGTERM');
    await w.exited;
  });

  it('announces UNIX:<path> and serves 16 concurrent connections', async () => {
    expect(w.line).toBe(`UNIX:${path}`);
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, id) => workload(connectUnix(path), id)));
  });

  it('closes a connection that sends garbage, logs it once, and keeps serving the others', async () => {
    const good = new RpcConnection(connectUnix(path));
    const bench = Client.promises(Bench, good);
    expect(await bench.add({ a: 1, b: 2 })).toBe(3);
    const bad = connectUnix(path);
    await bad.write([Buffer.from('this is not arrow at all, just text\n'.repeat(4))]);
    const reply = await readResponse(bad);
    expect(errorOf(reply)?.message).toMatch(/limit|IPC/);
    expect(await bad.frames.next()).toBeNull();
    await bad.close();
    expect(await Promise.all([bench.add({ a: 2, b: 3 }), bench.add({ a: 4, b: 5 })])).toEqual([5, 9]);
    await good.close();
    expect(await loggedLines(w, /unix connection #\d+: cannot read the request stream/)).toHaveLength(1);
    expect(w.stderr()).not.toMatch(/\n\s+at /);
  });

  it('refuses to start on a path a live server owns', async () => {
    const second = await startWorker(['--unix', path]);
    expect(second.line).toBeNull();
    expect((await second.exited).code).not.toBe(0);
    expect(second.stderr()).toMatch(`another server is already listening on unix socket ${path}`);
    // The first server is untouched.
    const conn = new RpcConnection(connectUnix(path));
    expect(await Client.promises(Bench, conn).add({ a: 1, b: 1 })).toBe(2);
    await conn.close();
  });
});

describe('unix socket lifecycle', () => {
  it('replaces a stale socket file left by a killed server', async () => {
    const path = sockPath();
    const dead = await startWorker(['--unix', path]);
    dead.child.kill('SIGKILL');
    await dead.exited;
    expect(existsSync(path)).toBe(true);
    const w = await startWorker(['--unix', path]);
    expect(w.line).toBe(`UNIX:${path}`);
    const conn = new RpcConnection(connectUnix(path));
    expect(await Client.promises(Bench, conn).add({ a: 20, b: 22 })).toBe(42);
    await conn.close();
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });

  it('refuses a path that is not a socket', async () => {
    const path = sockPath();
    writeFileSync(path, 'precious');
    const w = await startWorker(['--unix', path]);
    expect((await w.exited).code).not.toBe(0);
    expect(w.stderr()).toMatch(/exists and is not a socket/);
    expect(existsSync(path)).toBe(true);
  });

  it('on SIGTERM stops accepting, closes idle connections, lets a call in flight finish, then exits 0', async () => {
    const path = sockPath();
    const w = await startWorker(['--unix', path]);
    const idle = new RpcConnection(connectUnix(path));
    expect(await Client.promises(Bench, idle).add({ a: 1, b: 1 })).toBe(2);
    const busy = new RpcConnection(connectUnix(path));
    const ex = await Client.promises(Bench, busy).double({ factor: 3 });
    expect((await ex.exchange({ _tag: 'rows', rows: [{ x: 1 }], metadata: undefined })).values('x')).toEqual([3]);
    w.child.kill('SIGTERM');
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (w.stderr().includes('SIGTERM received')) { clearInterval(t); resolve(); } }, 10); });
    await expect(connectUnix(path).connected).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    await expect(Client.promises(Bench, idle).add({ a: 2, b: 2 })).rejects.toThrow(/closed/);
    // The stream in flight keeps going until the client ends it.
    await new Promise((r) => setTimeout(r, 100));
    expect((await ex.exchange({ _tag: 'rows', rows: [{ x: 2 }], metadata: undefined })).values('x')).toEqual([6]);
    expect(w.child.exitCode).toBeNull();
    await ex.close();
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path)).toBe(false);
    await Promise.all([idle.close(), busy.close()]);
  });

  it('exits at once on a second signal', async () => {
    const path = sockPath();
    const w = await startWorker(['--unix', path]);
    const conn = new RpcConnection(connectUnix(path));
    const ex = await Client.promises(Bench, conn).double({ factor: 1 });
    await ex.exchange({ _tag: 'rows', rows: [{ x: 1 }], metadata: undefined });
    w.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGINT');
    expect((await w.exited).code).toBe(130);
    (conn.transport as ReturnType<typeof connectUnix>).socket.destroy();
  });
});

describe('tcp server', () => {
  let w: Worker;
  let port: number;
  beforeAll(async () => {
    w = await startWorker(['--tcp', '127.0.0.1:0']);
    port = Number(/^TCP:127\.0\.0\.1:(\d+)$/.exec(w.line ?? '')?.[1]);
  });
  afterAll(async () => {
    if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await w.exited;
  });

  it('announces TCP:<host>:<bound port> and serves 16 concurrent connections', async () => {
    expect(port).toBeGreaterThan(0);
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, id) => workload(connectTcp('127.0.0.1', port), id)));
  });

  it('closes only the connection that sends garbage', async () => {
    const good = new RpcConnection(connectTcp('127.0.0.1', port));
    const bench = Client.promises(Bench, good);
    expect(await bench.add({ a: 1, b: 2 })).toBe(3);
    const bad = connectTcp('127.0.0.1', port);
    await bad.write([Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)]);
    expect(errorOf(await readResponse(bad))).toBeDefined();
    expect(await bad.frames.next()).toBeNull();
    await bad.close();
    expect(await bench.add({ a: 2, b: 3 })).toBe(5);
    await good.close();
    expect(await loggedLines(w, /tcp connection #\d+ \(127\.0\.0\.1:\d+\): cannot read the request stream/)).toHaveLength(1);
  });

  it('exits 0 on SIGTERM', async () => {
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});

describe('bench worker command line', () => {
  it('serves on a pool of worker threads with --workers 2', async () => {
    const w = await startWorker(['--tcp', '0', '--workers', '2']);
    expect(w.line).toMatch(/^TCP:127\.0\.0\.1:\d+$/);
    const port = Number(w.line!.split(':')[2]);
    await Promise.all(Array.from({ length: 8 }, (_, i) => workload(connectTcp('127.0.0.1', port), i)));
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });

  it('rejects a malformed --workers value', async () => {
    const w = await startWorker(['--tcp', '0', '--workers', 'two']);
    expect((await w.exited).code).toBe(64);
    expect(w.stderr()).toMatch(/--workers expects a number/);
  });
});
