import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Client, Reflection, RpcConnection, type ClientTransport } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { ConformanceService } from '../../examples/conformance/service.js';
import { SecondaryService } from '../../examples/conformance/secondary.js';

// Runs the compiled worker: build first (`npx tsc -p .`, as `npm test` does).
const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));

/** Spawn the worker listening on a socket; resolves with its discovery line (null if it exited first). */
const startListening = async (args: readonly string[]) => {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(null));
  });
  return { child, line, exited, stderr: () => stderr };
};

/** Methods of ConformanceService and the second protocol's echo, over one connection. */
const probe = async (transport: ClientTransport): Promise<{ methods: number; secondary: string }> => {
  const conn = new RpcConnection(transport);
  try {
    const d = await Client.promises(Reflection, conn).describe({ protocol: 'ConformanceService' });
    return { methods: d.methods.length, secondary: await Client.promises(SecondaryService, conn).echo_string({ value: 'a' }) };
  } finally {
    await conn.close();
  }
};

describe('conformance worker CLI', () => {
  it('serves both protocols on stdio', async () => {
    const stderr: string[] = [];
    const t = await spawnServer(process.execPath, [WORKER], { onStderr: (l) => stderr.push(l) });
    const conn = new RpcConnection(t);
    const svc = Client.promises(ConformanceService, conn);
    const secondary = Client.promises(SecondaryService, conn);
    expect(await svc.echo_string({ value: 'a' })).toBe('a');
    expect(await secondary.echo_string({ value: 'a' })).toBe('secondary:a');
    const rows = [];
    for await (const b of await svc.produce_n({ count: 2n })) rows.push(...b.rows());
    expect(rows).toHaveLength(2);
    await conn.close();
    expect(await t.exited).toBe(0);
    expect(stderr).toEqual([]);
  });

  it('rejects unknown flags with usage and exit 64', () => {
    const r = spawnSync(process.execPath, [WORKER, '--nope'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: conformance-worker');
  });

  it('listens on --unix with a worker pool, announces UNIX:<path>, and drains on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vgi-conf-cli-'));
    try {
      const path = join(dir, 'w.sock');
      const w = await startListening(['--unix', path, '--workers', '2', '--grace', '5']);
      expect(w.line, w.stderr()).toBe(`UNIX:${path}`);
      // Two connections at once: the pool places each on its least busy thread, one per thread.
      expect(await Promise.all([probe(connectUnix(path)), probe(connectUnix(path))])).toEqual([
        { methods: 90, secondary: 'secondary:a' },
        { methods: 90, secondary: 'secondary:a' },
      ]);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on --tcp and hosts --generation 89 on every worker thread', async () => {
    const w = await startListening(['--tcp', '127.0.0.1:0', '--workers', '2', '--generation', '89']);
    const m = /^TCP:127\.0\.0\.1:(\d+)$/.exec(w.line ?? '');
    expect(m, w.stderr()).not.toBeNull();
    const port = Number(m![1]);
    // As above, one connection per thread: both threads host the 89-method generation.
    expect(await Promise.all([probe(connectTcp('127.0.0.1', port)), probe(connectTcp('127.0.0.1', port))])).toEqual([
      { methods: 89, secondary: 'secondary:a' },
      { methods: 89, secondary: 'secondary:a' },
    ]);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it.each([
    [['--generation', '91'], /--generation expects 89 or 90, got 91/],
    [['--tcp', 'localhost:http'], /--tcp expects \[HOST:\]PORT/],
    [['--unix'], /--unix expects a socket path/],
  ])('rejects %j with usage and exit 64', (args, message) => {
    const r = spawnSync(process.execPath, [WORKER, ...args], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: conformance-worker');
  });
});
