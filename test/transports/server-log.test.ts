/**
 * The server log: a call answered with an EXCEPTION batch is logged once on
 * the server's stderr (logfmt) with its method, request id, error type and
 * cause: a defect at ERROR, an expected failure at DEBUG. `--log-level`
 * filters it and the handlers' own Effect logs, in every worker thread.
 * Runs a real stdio server (2 worker threads). Build first: `npx tsc -p .`.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError, RpcConnection } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { Chatty } from '../fixtures/chatty-service.js';
import { staleOutputs } from '../support/stale-build.js';

const WORKER = fileURLToPath(new URL('../../dist/test/fixtures/chatty-worker.js', import.meta.url));

beforeAll(() => {
  const stale = staleOutputs('test/fixtures/chatty-worker.ts');
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
});

/** The error a call rejects with. */
const failure = async (p: Promise<unknown>): Promise<RpcClientError> => {
  const e = await p.then(() => { throw new Error('the call succeeded'); }, (x: unknown) => x);
  expect(e).toBeInstanceOf(RpcClientError);
  return e as RpcClientError;
};

interface Session {
  /** Request ids the client was told, by what was called. */
  readonly ids: Record<'fail' | 'crash' | 'stream', string>;
  /** The server's whole stderr, by line. */
  readonly stderr: string[];
}

/**
 * Start the server with `flags` (and `workers` threads), call `say` (unless `say` is false: it
 * prints on the console), `fail`, `crash` and `count_then_crash` (each
 * once), close, and return everything the server wrote to stderr.
 */
const session = async (flags: readonly string[], say = true, workers = 2): Promise<Session> => {
  const stderr: string[] = [];
  const t = await spawnServer(process.execPath, [WORKER, '--stdio', '--workers', String(workers), ...flags], { onStderr: (l) => stderr.push(l) });
  const closed = new Promise((r) => t.child.once('close', r));
  const conn = new RpcConnection(t);
  const chatty = Client.promises(Chatty, conn);
  if (say) expect(await chatty.say({ text: 'said' }) > 0n).toBe(workers > 0);
  const failed = await failure(chatty.fail({ message: 'expected-marker' }));
  expect([failed.errorType, failed.message]).toEqual(['ValueError', 'expected-marker']);
  const crashed = await failure(chatty.crash({ message: 'defect-marker' }));
  expect([crashed.errorType, crashed.message]).toEqual(['Error', 'defect-marker']);
  const rows: bigint[] = [];
  const streamed = await failure((async () => {
    for await (const b of await chatty.count_then_crash({ n: 2n, message: 'stream-marker' })) rows.push(...b.rows().map((r) => r.i));
  })());
  expect(rows).toEqual([0n, 1n]);
  await conn.close();
  expect(await t.exited).toBe(0);
  await closed;
  return { ids: { fail: failed.requestId!, crash: crashed.requestId!, stream: streamed.requestId! }, stderr };
};

/** The log lines (logfmt records) naming `marker`. */
const records = (s: Session, marker: string): string[] => s.stderr.filter((l) => l.startsWith('timestamp=') && l.includes(marker));

/** The fields of a logfmt line (quoted values unescaped). */
const fields = (line: string | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of (line ?? '').matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out[m[1]!] = m[2]!.startsWith('"') ? JSON.parse(m[2]!) as string : m[2]!;
  return out;
};

describe('server log of failed calls (stdio server)', () => {
  for (const workers of [2, 0]) it(`--log-level debug, ${workers} workers: one line per failed call, with method, request id, error type and cause`, async () => {
    const s = await session(['--log-level', 'debug'], true, workers);
    const all = s.stderr.join('\n');
    const fail = records(s, 'expected-marker');
    expect(fail, all).toHaveLength(1);
    expect(fields(fail[0])).toMatchObject({
      level: 'DEBUG', outcome: 'failure', protocol: 'Chatty', method: 'fail', request_id: s.ids.fail,
      error_type: 'ValueError', error_code: 'UNKNOWN', message: 'Chatty.fail: ValueError: expected-marker',
    });
    expect(fields(fail[0]).cause).toMatch(/^RpcError: expected-marker\n {4}at /);

    const crash = records(s, 'defect-marker');
    expect(crash, all).toHaveLength(1);
    expect(fields(crash[0])).toMatchObject({
      level: 'ERROR', outcome: 'defect', protocol: 'Chatty', method: 'crash', request_id: s.ids.crash, error_type: 'Error', error_code: 'UNKNOWN',
    });
    // Effect's pretty Cause: the error and its stack.
    expect(fields(crash[0]).cause).toMatch(/^Error: defect-marker\n {4}at .*chatty-service\.js/);

    const stream = records(s, 'stream-marker');
    expect(stream, all).toHaveLength(1);
    expect(fields(stream[0])).toMatchObject({ level: 'ERROR', outcome: 'defect', method: 'count_then_crash', request_id: s.ids.stream, error_type: 'Error' });

    // The handler's own Effect.logInfo goes through the same logger.
    expect(records(s, 'effect said').map((l) => fields(l).level)).toEqual(['INFO']);
  });

  it('default level (info): the defects are logged, the expected failure is not', async () => {
    const s = await session([]);
    expect(records(s, 'expected-marker')).toEqual([]);
    expect(records(s, 'defect-marker')).toHaveLength(1);
    expect(records(s, 'stream-marker')).toHaveLength(1);
    expect(records(s, 'effect said')).toHaveLength(1);
  });

  it("--log-level error: the defects only, not the handler's info log", async () => {
    const s = await session(['--log-level', 'error']);
    expect(records(s, 'expected-marker')).toEqual([]);
    expect(records(s, 'defect-marker')).toHaveLength(1);
    expect(records(s, 'stream-marker')).toHaveLength(1);
    expect(records(s, 'effect said')).toEqual([]);
    // Console output is not the log: it still reaches stderr.
    expect(s.stderr).toContain('log said');
  });

  it('--log-level none: nothing on stderr', async () => {
    const s = await session(['--log-level', 'none'], false);
    expect(s.stderr).toEqual([]);
  });

  it('refuses an unknown level with the usage error', async () => {
    const stderr: string[] = [];
    const t = await spawnServer(process.execPath, [WORKER, '--log-level', 'loud'], { onStderr: (l) => stderr.push(l) });
    expect(await t.exited).toBe(64);
    await new Promise((r) => setTimeout(r, 100));
    expect(stderr.join('\n')).toContain('--log-level expects one of trace, debug, info, warning, error, fatal, none, got loud');
  });
});
