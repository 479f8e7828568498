/**
 * The HTTP front end's hop to a pool of workers, end to end through the
 * bench worker CLI (`--http --workers 2`) and our HTTP client, on both
 * engines (uWebSockets.js when it loads; node:http by UWS_USE_FALLBACK=1):
 * requests gathered into one message per event-loop turn must each get
 * their own answer, and large reply buffers, which go back to the worker
 * that filled them once written and are filled again, must never carry
 * another reply's bytes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, type HttpConnection, httpConnect } from '../../src/index.js';
import { Bench } from '../../examples/bench/bench-service.js';
import { uwsAvailable } from '../../transports/http/uws-engine.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Start the bench worker over HTTP with 2 workers; resolves with its URL. */
const start = (env: Record<string, string>, flags: readonly string[] = []): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, '--http', '--port', '0', '--workers', '2', ...flags], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    children.push(child);
    child.once('exit', (code) => reject(new Error(`the bench worker exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const m = /^PORT:(\d+)$/.exec(line);
      if (m === null) reject(new Error(`unexpected first line ${line}`));
      else resolve(`http://127.0.0.1:${m[1]}`);
    });
  });

/** Read a whole produce stream, checking every value of every batch; resolves with the batch count. */
const produceChecked = async (conn: HttpConnection, batches: number, rows: number): Promise<number> => {
  const stream = await Client.promises(Bench, conn).produce({ n_batches: BigInt(batches), rows: BigInt(rows) });
  let seen = 0;
  for await (const b of stream) {
    expect(b.numRows).toBe(rows);
    const i = b.column('i').values as BigInt64Array;
    const x = b.column('x').values as Float64Array;
    let bad = 0;
    for (let k = 0; k < rows; k++) if (i[k] !== BigInt(k) || x[k] !== k * 0.5) bad++;
    expect(bad).toBe(0);
    seen++;
  }
  return seen;
};

const engines: Array<{ name: string; env: Record<string, string>; skip: boolean }> = [
  { name: 'uWebSockets.js', env: {}, skip: !uwsAvailable() },
  { name: 'node:http', env: { UWS_USE_FALLBACK: '1' }, skip: false },
];

describe.each(engines)('HTTP worker hop ($name)', ({ env, skip }) => {
  it.skipIf(skip)('many unary calls in flight at once each get their own answer', async () => {
    const conn = await httpConnect(await start(env), { retry: false });
    const bench = Client.promises(Bench, conn);
    const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => bench.add({ a: i, b: 0.5 })));
    expect(answers).toEqual(Array.from({ length: 400 }, (_, i) => i + 0.5));
    await conn.close();
  }, 60_000);

  it.skipIf(skip)('large batches of interleaved producers (reply buffers reused) arrive intact, batch after batch', async () => {
    const conn = await httpConnect(await start(env, ['--no-compression']), { retry: false });
    // 320 KB and 336 KB batches: the sizes are within an eighth of each other, so a buffer one filled may be filled by the other.
    const counts = await Promise.all([
      produceChecked(conn, 30, 20_000),
      produceChecked(conn, 30, 21_000),
      produceChecked(conn, 30, 20_000),
      produceChecked(conn, 30, 21_000),
    ]);
    expect(counts).toEqual([30, 30, 30, 30]);
    // Small and large replies mixed on the same workers.
    const bench = Client.promises(Bench, conn);
    const [big, sums] = await Promise.all([
      produceChecked(conn, 10, 40_000),
      Promise.all(Array.from({ length: 100 }, (_, i) => bench.add({ a: i, b: i }))),
    ]);
    expect(big).toBe(10);
    expect(sums).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
    await conn.close();
  }, 120_000);

  it.skipIf(skip)('zstd-compressed large batches arrive intact', async () => {
    const conn = await httpConnect(await start(env), { retry: false });
    expect(conn.capabilities.supportedEncodings).toContain('zstd');
    const counts = await Promise.all([produceChecked(conn, 6, 100_000), produceChecked(conn, 6, 100_000)]);
    expect(counts).toEqual([6, 6]);
    await conn.close();
  }, 120_000);
});
