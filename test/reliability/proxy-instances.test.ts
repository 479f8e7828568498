/**
 * Beyond one host: three conformance-worker processes (one shared
 * `--token-key`, server ids a, b, c, each its own sticky echo header
 * `x-vgi-instance: <id>`) behind HAProxy running the shipped
 * examples/proxy/haproxy.cfg with this test's ports. Unary calls spread
 * over the instances; resumable streams continue on whichever instance the
 * proxy picks (the state travels in the signed token), while a stream that
 * declares no state answers StreamStateLostError there; sessions keep
 * reaching their owner through the echo header; killing one instance loses
 * only its sessions (the proxy redispatches their refused requests to a
 * live instance, which answers SessionLostError) while the others keep
 * serving.
 *
 * Skips only when /usr/sbin/haproxy is absent (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type HttpWorker } from '../conformance/http-harness.js';
import { RawHttpClient, columnValues, postArrowUncompressed, rpcUrl, wireError } from '../conformance/http/http-stream-support.js';
import { unaryRequestBody } from '../conformance/http/http-support.js';

const HAPROXY = '/usr/sbin/haproxy';
const WORKER = new URL('../../dist/examples/conformance/worker.js', import.meta.url).pathname;
const CONFIG = new URL('../../examples/proxy/haproxy.cfg', import.meta.url).pathname;
const IDS = ['a', 'b', 'c'] as const;
const TOKEN_KEY = '3c'.repeat(32);
/** Bound on anything asynchronous (generous: the machine may be loaded). */
const BOUND_MS = 8_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

/** Start one instance; resolves with its port once it prints `PORT:<n>`. */
const startInstance = (id: string): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, '--http', '--workers', '1', '--token-key', TOKEN_KEY, '--server-id', id, '--sticky-echo', `x-vgi-instance=${id}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`instance ${id} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^PORT:(\d+)$/.exec(line);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
  });

/** The shipped config with this test's ports (the frontend's bind and the three server lines). */
const configFor = (proxyPort: number, ports: readonly number[]): string => {
  let text = readFileSync(CONFIG, 'utf8').replace(/bind 127\.0\.0\.1:\d+/, `bind 127.0.0.1:${proxyPort}`);
  IDS.forEach((id, i) => {
    text = text.replace(new RegExp(`server ${id} 127\\.0\\.0\\.1:\\d+`), `server ${id} 127.0.0.1:${ports[i]}`);
  });
  return text;
};

const available = existsSync(HAPROXY);
const instances = new Map<string, ChildProcess>();
let proxy: ChildProcess | undefined;
let dir: string | undefined;
/** HAProxy's request log (httplog lines on stdout): which server answered which request. */
const logLines: string[] = [];
let front: HttpWorker;

/** The servers that answered POSTs to a path ending in `path` since log line `from` (in order). */
const servedBy = async (path: string, from: number, count: number): Promise<string[]> => {
  const pick = (): string[] =>
    logLines
      .slice(from)
      .map((l) => /vgi_instances\/(\w+) .*"POST (\S+) /.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[2]!.endsWith(path))
      .map((m) => m[1]!);
  const deadline = Date.now() + BOUND_MS;
  while (pick().length < count && Date.now() < deadline) await sleep(50);
  return pick();
};

const allUp = async (): Promise<boolean> => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${front.origin}/health`).catch(() => undefined);
    if (res === undefined || res.status !== 200) return false;
    seen.add(((await res.json()) as { server_id: string }).server_id);
  }
  return seen.size === 3;
};

beforeAll(async () => {
  if (!available) return;
  const started = await Promise.all(IDS.map((id) => startInstance(id)));
  started.forEach(({ child }, i) => {
    child.removeAllListeners('exit');
    instances.set(IDS[i]!, child);
  });
  const proxyPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'vgi-proxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, configFor(proxyPort, started.map((s) => s.port)));
  proxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: proxy.stdout! }).on('line', (l) => logLines.push(l));
  createInterface({ input: proxy.stderr! }).on('line', (l) => logLines.push(l));
  front = { origin: `http://127.0.0.1:${proxyPort}`, port: proxyPort, prefix: '', stderr: [] };
  const deadline = Date.now() + BOUND_MS;
  while (!(await allUp())) {
    if (Date.now() > deadline) throw new Error(`proxy not serving all three instances:\n${logLines.join('\n')}`);
    await sleep(100);
  }
}, 20_000);

afterAll(() => {
  proxy?.kill('SIGKILL');
  for (const child of instances.values()) child.kill('SIGKILL');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('three instances behind HAProxy', () => {
  it('unary calls spread over the instances and all succeed', async () => {
    const served = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const res = await postArrowUncompressed(rpcUrl(front, 'echo_string'), unaryRequestBody('echo_string', { value: `v${i}` }));
      expect(res.status).toBe(200);
      expect(res.headers.get('X-VGI-RPC-Error')).toBeNull();
      served.add(res.headers.get('X-Served-By') ?? '?');
    }
    expect([...served].sort()).toEqual(['a', 'b', 'c']);
    expect(await new RawHttpClient(front).call('echo_string', { value: 'through the proxy' })).toBe('through the proxy');
  });

  it('resumable producer and exchange continuations land on different instances and keep their state', async () => {
    const client = new RawHttpClient(front);
    const from = logLines.length;
    const producer = await client.producer('produce_n', { count: 6n });
    const batches = await producer.all();
    expect(batches.flatMap((b) => columnValues(b, 'index'))).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    const continued = await servedBy('/produce_n/exchange', from, 5);
    expect(new Set(continued).size, `continuations served by ${continued.join(',')}`).toBeGreaterThan(1);

    const fromX = logLines.length;
    const exchange = await client.exchange('exchange_accumulate');
    const sums: unknown[] = [];
    for (let i = 1; i <= 6; i++) sums.push(columnValues(await exchange.exchange({ value: [i] }), 'running_sum')[0]);
    expect(sums).toEqual([1, 3, 6, 10, 15, 21]);
    const turns = await servedBy('/exchange_accumulate/exchange', fromX, 6);
    expect(new Set(turns).size, `exchange turns served by ${turns.join(',')}`).toBeGreaterThan(1);
  });

  it('a stream that declares no state fails with StreamStateLostError when a continuation lands on another instance', async () => {
    const producer = await new RawHttpClient(front).producer('produce_tick_metadata', { count: 4n });
    const from = logLines.length;
    // Round robin sends the next request to another instance than the one that opened the stream.
    const e = await wireError(async () => {
      for (;;) {
        const [batch] = await producer.nextWithToken();
        if (batch === null) break;
      }
    });
    expect(e.errorType).toBe('StreamStateLostError');
    expect((await servedBy('/produce_tick_metadata/exchange', from, 1)).length).toBeGreaterThan(0);
  });

  it('sessions reach their owner through the echo header; killing an instance loses only its sessions', async () => {
    // Sessions until each instance owns two. Requests routed by use-server move the round-robin
    // rotation too, so a random number of stateless calls between opens keeps a fixed pattern from
    // skipping an instance.
    const sessions: RawHttpClient[] = [];
    const owners: string[] = [];
    const owned = (id: string): number => owners.filter((o) => o === id).length;
    for (let i = 0; i < 40 && IDS.some((id) => owned(id) < 2); i++) {
      const s = new RawHttpClient(front).withSession();
      const initial = BigInt(sessions.length * 100);
      expect(await s.call('open_counter', { initial })).toBe(initial);
      sessions.push(s);
      owners.push(s.currentEchoHeaders().get('x-vgi-instance') ?? '?');
      // The command line's echo header joins the program's, it does not replace it.
      expect(s.currentEchoHeaders().get('x-vgi-conformance-echo')).toBe('conformance-fixed-marker');
      for (let k = Math.floor(Math.random() * 3); k > 0; k--) await new RawHttpClient(front).call('echo_string', { value: 'shift' });
    }
    for (const id of IDS) expect(owned(id), `owners ${owners.join(',')}`).toBeGreaterThanOrEqual(2);
    for (let round = 1n; round <= 5n; round++) {
      for (const [i, s] of sessions.entries()) expect(await s.call('increment_counter', { by: 1n })).toBe(BigInt(i * 100) + round);
    }

    const victim = owners[0]!;
    instances.get(victim)!.kill('SIGKILL');
    await new Promise((resolve) => instances.get(victim)!.once('exit', resolve));
    for (const [i, s] of sessions.entries()) {
      if (owners[i] === victim) {
        // The owner is gone: the proxy ignores its use-server rule (down) or redispatches the refused
        // connection, another instance gets the token and answers the typed error.
        const e = await wireError(s.call('increment_counter', { by: 1n }));
        expect(e.errorType).toBe('SessionLostError');
      } else {
        expect(await s.call('increment_counter', { by: 1n })).toBe(BigInt(i * 100) + 6n);
      }
    }
    // Stateless calls keep being served by the survivors.
    for (let i = 0; i < 6; i++) expect(await new RawHttpClient(front).call('echo_string', { value: `after ${i}` })).toBe(`after ${i}`);
  });
});
