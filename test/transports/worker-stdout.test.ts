/**
 * A stdio server keeps its stdout for Arrow IPC: what handlers print (every
 * console method, process.stdout.write, Effect logs), in a worker thread or
 * on the main thread, and what a worker's modules print while loading goes
 * to the server's stderr, and calls succeed for our client and the peer's.
 * Build first: `npx tsc -p .`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pipeConnect } from '@query-farm/vgi-rpc';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcConnection } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { Chatty } from '../fixtures/chatty-service.js';
import { staleOutputs } from '../support/stale-build.js';

const WORKER = fileURLToPath(new URL('../../dist/test/fixtures/chatty-worker.js', import.meta.url));
const args = (workers: number): string[] => [WORKER, '--stdio', '--workers', String(workers)];
const ENV = { ...process.env, CHATTY_BANNER: '1' };

beforeAll(() => {
  const stale = staleOutputs('test/fixtures/chatty-worker.ts');
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
});

/** What `say(marker)` prints, as it must appear on stderr. */
const printed = (marker: string): (string | RegExp)[] => [
  `log ${marker}`, `info ${marker}`, `debug ${marker}`, `warn ${marker}`, `error ${marker}`,
  `{ dir: '${marker}' }`, new RegExp(`│ 0 +│ '${marker}' │`), `write ${marker}`,
  new RegExp(`level=INFO .*message="effect ${marker}"`),
];

const matches = (text: string, p: string | RegExp): boolean => (typeof p === 'string' ? text.includes(p) : p.test(text));

/** Wait (up to 10 s) until every pattern is in `text()`; the stderr of a worker reaches us asynchronously. */
const seen = async (text: () => string, patterns: readonly (string | RegExp)[]): Promise<void> => {
  for (let i = 0; i < 200 && !patterns.every((p) => matches(text(), p)); i++) await new Promise((r) => setTimeout(r, 50));
  expect(patterns.filter((p) => !matches(text(), p)), `missing from stderr:\n${text()}`).toEqual([]);
};

/** Fail instead of hanging when a client never gets its answer (the peer's did, on corrupted stdout). */
const within = <A>(p: Promise<A>, what: string): Promise<A> =>
  Promise.race([p, new Promise<A>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within 10 s`)), 10_000))]);

describe('stdio server: stdout carries only Arrow IPC', () => {
  it('2 worker threads: our subprocess client gets its answers, and what the workers print is on stderr', async () => {
    const lines: string[] = [];
    const t = await spawnServer(process.execPath, args(2), { env: ENV, onStderr: (l) => lines.push(l) });
    const conn = new RpcConnection(t);
    const chatty = Client.promises(Chatty, conn);
    const thread = await within(chatty.say({ text: 'ours-1' }), 'say');
    expect(thread).toBeGreaterThan(0n); // served by a worker thread, not the main thread
    expect(await within(chatty.say({ text: 'ours-2' }), 'say')).toBe(thread);
    const stderr = (): string => lines.join('\n');
    // Both workers printed while loading their modules, before workerEntry ran.
    await seen(stderr, [/banner from thread \d+ while loading[^]*banner from thread \d+ while loading/, ...printed('ours-1'), ...printed('ours-2')]);
    await conn.close();
    expect(await t.exited).toBe(0);
  });

  it('no worker threads: what handlers print on the main thread is on stderr too', async () => {
    const lines: string[] = [];
    const t = await spawnServer(process.execPath, args(0), { env: ENV, onStderr: (l) => lines.push(l) });
    const conn = new RpcConnection(t);
    const chatty = Client.promises(Chatty, conn);
    expect(await within(chatty.say({ text: 'main-1' }), 'say')).toBe(0n);
    await seen(() => lines.join('\n'), printed('main-1'));
    await conn.close();
    expect(await t.exited).toBe(0);
  });

  it("2 worker threads: the peer's client gets its answer, and what the workers print is on stderr", async () => {
    const child = spawn(process.execPath, args(2), { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin.on('error', () => undefined);
    const client = pipeConnect(child.stdout as unknown as Parameters<typeof pipeConnect>[0], { write: (b: Uint8Array) => child.stdin.write(b), end: () => child.stdin.end() }, { protocol: 'Chatty' });
    try {
      const r = await within(client.call('say', { text: 'peer-1' }), "the peer's say");
      expect(BigInt((r as { result: number | bigint }).result)).toBeGreaterThan(0n);
      await seen(() => stderr, printed('peer-1'));
    } finally {
      client.close();
    }
    expect(await within(exited, 'exit')).toBe(0);
  });
});
