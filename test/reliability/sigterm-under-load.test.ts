import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { Chaos } from '../fixtures/chaos-service.js';

const SERVER = fileURLToPath(new URL('../../dist/test/fixtures/chaos-server.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vgi-drain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = async (path: string, workers: number, graceS: number) => {
  const child = spawn(process.execPath, [SERVER, path, String(workers), String(graceS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then((c) => reject(new Error(`server exited ${c}: ${stderr}`)));
  });
  expect(line).toBe(`UNIX:${path}`);
  return { child, exited, stderr: () => stderr };
};

describe('SIGTERM under load', () => {
  it('answers every accepted call (in flight and pipelined), refuses new connections, exits 0', async () => {
    const path = join(dir, 'load.sock');
    const server = await start(path, 2, 30);
    const clients = Array.from({ length: 8 }, () => Client.promises(Chaos, new RpcConnection(connectUnix(path))));
    await Promise.all(clients.map((c) => c.sleep({ ms: 1n })));
    const calls = clients.flatMap((c, i) => Array.from({ length: 4 }, (_, k) => c.sleep({ ms: BigInt(200 + 10 * i + k) })));
    await new Promise((r) => setTimeout(r, 80));
    server.child.kill('SIGTERM');
    const results = await Promise.allSettled(calls);
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<bigint>).value)).toEqual(clients.flatMap((_, i) => Array.from({ length: 4 }, (_, k) => BigInt(200 + 10 * i + k))));
    expect(await server.exited).toBe(0);
    const late = await Client.promises(Chaos, new RpcConnection(connectUnix(path))).thread().catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RpcClientError);
  });

  it('interrupts calls that outlive the grace period with ServerShutdownError and still exits 0', async () => {
    const path = join(dir, 'grace.sock');
    const server = await start(path, 2, 0.3);
    const chaos = Client.promises(Chaos, new RpcConnection(connectUnix(path)));
    const quick = chaos.sleep({ ms: 50n });
    const slow = Client.promises(Chaos, new RpcConnection(connectUnix(path))).sleep({ ms: 60_000n }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    server.child.kill('SIGTERM');
    expect(await quick).toBe(50n);
    expect(((await slow) as RpcClientError).errorType).toBe('ServerShutdownError');
    expect(await server.exited).toBe(0);
  });
});
