import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as A from 'apache-arrow';
import { T, Client, RpcConnection } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { concatBytes } from '../../src/wire/batch-encoder.js';
import { errorOf, readResponse, requestBytes, route } from '../support/raw-exchange.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));
const addSchema = new A.Schema([new A.Field('a', new A.Float64(), false), new A.Field('b', new A.Float64(), false)]);

/** Run the worker, feed it `input`, and collect its exit code, stdout size and stderr. */
const runWith = (input: Uint8Array, closeStdin = true): Promise<{ code: number | null; stdout: Buffer; stderr: string; ms: number }> =>
  new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [WORKER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 }));
    child.stdin.on('error', () => undefined);
    child.stdin.write(input);
    if (closeStdin) child.stdin.end();
  });

describe('stdio server', () => {
  it('answers a bad request with an error and keeps serving', async () => {
    const t = await spawnServer(process.execPath, [WORKER, '--stdio']);
    await t.write(requestBytes(addSchema, [T.float64.encode([1]), T.float64.encode([2])], 1, route('Bench', 'nope')));
    const bad = await readResponse(t);
    expect(errorOf(bad)).toMatchObject({ type: 'MethodNotImplementedError', kind: 'method_not_implemented' });
    await t.write(requestBytes(new A.Schema([addSchema.fields[0]!]), [T.float64.encode([1])], 1, route('Bench', 'add')));
    expect(errorOf(await readResponse(t))?.type).toBe('TypeError');
    const conn = new RpcConnection(t);
    const bench = Client.promises(Bench, conn);
    expect(await bench.add({ a: 40, b: 2 })).toBe(42);
    await conn.close();
    expect(await t.exited).toBe(0);
  });

  for (const stdoutPipe of [false, true]) {
    it(`serves unary and producer calls to the subprocess client with stdout as a ${stdoutPipe ? 'pipe' : 'socket pair (Linux)'}`, async () => {
      const t = await spawnServer(process.execPath, [WORKER, '--stdio'], { stdoutPipe });
      expect(t.child.stdout === null).toBe(!stdoutPipe && process.platform === 'linux');
      const conn = new RpcConnection(t);
      const bench = Client.promises(Bench, conn);
      expect(await bench.add({ a: 1, b: 2 })).toBe(3);
      let rows = 0;
      for await (const b of await bench.produce({ n_batches: 3n, rows: 50_000n })) rows += b.numRows;
      expect(rows).toBe(150_000);
      await conn.close();
      expect(await t.exited).toBe(0);
    });
  }

  it('exits 2 with a one-line message on garbage, without a stack trace', async () => {
    const r = await runWith(Buffer.from('this is not arrow at all, just text\n'.repeat(4)));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vgi-rpc: stdio: cannot read the request stream/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an oversized length prefix at once, before allocating', async () => {
    const r = await runWith(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), false);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exceeds the 16777216-byte limit/);
    expect(r.ms).toBeLessThan(5000);
  });

  it('reports a truncated request when stdin ends', async () => {
    const full = concatBytes(requestBytes(addSchema, [T.float64.encode([1]), T.float64.encode([2])], 1, route('Bench', 'add')));
    const r = await runWith(full.subarray(0, full.byteLength - 30));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ended/);
  });

  it('exits 0 when stdin closes and on SIGTERM', async () => {
    expect((await runWith(new Uint8Array(0))).code).toBe(0);
    const t = await spawnServer(process.execPath, [WORKER, '--stdio']);
    const bench = Client.promises(Bench, new RpcConnection(t));
    expect(await bench.add({ a: 1, b: 1 })).toBe(2);
    t.child.kill('SIGTERM');
    expect(await t.exited).toBe(0);
  });
});
