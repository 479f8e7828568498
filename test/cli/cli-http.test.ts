/**
 * The `vgi-rpc` command line against our conformance worker serving HTTP
 * (`--http`, which prints `PORT:<n>`), reached with `--url`: describe, a
 * typed call, an RPC error the worker survives, a producer and an exchange
 * (each call and stream turn an HTTP request), Ctrl-C cancelling a stream,
 * a server mounted under a prefix (the URL's path), and the failures: no
 * server at the URL (69), a URL that is not http(s) or a second transport
 * flag (64).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FirstLine, spawnFirstLine } from '../support/first-line.js';
import { CLI, WORKER, assertFreshBuild, lines, runCli } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'vgi-cli-http-'));
const input = join(dir, 'in.jsonl');
writeFileSync(input, '{"value": 0.5}\n{"value": 4}\n');

const workers: FirstLine[] = [];

/** Start the conformance worker over HTTP with `args`; resolves with its base URL (no prefix). */
const serveHttp = async (args: readonly string[]): Promise<{ origin: string; worker: FirstLine }> => {
  let err = '';
  const w = await spawnFirstLine(WORKER, ['--http', '--port', '0', '--workers', '1', ...args], (s) => s.on('data', (d: Buffer) => { err += d.toString(); }));
  workers.push(w);
  if (w.line === null) throw new Error(`the worker exited before listening: ${err}`);
  const m = /^PORT:(\d+)$/.exec(w.line);
  if (m === null) throw new Error(`expected PORT:<n>, got ${w.line}`);
  return { origin: `http://127.0.0.1:${m[1]}`, worker: w };
};

beforeAll(assertFreshBuild);
afterAll(async () => {
  for (const w of workers) {
    w.child.kill('SIGTERM');
    await w.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('vgi-rpc --url (HTTP)', () => {
  let origin: string;
  let flags: string[];
  beforeAll(async () => {
    ({ origin } = await serveHttp([]));
    flags = ['--url', origin, '-p', 'ConformanceService'];
  });

  it('describes the server', async () => {
    const r = await runCli(['describe', '--url', origin, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { protocols: { name: string; methods?: { name: string; kind: string }[] }[] };
    expect(doc.protocols.map((p) => p.name)).toEqual(['ConformanceService', 'conformance.Secondary.v1', 'vgi_rpc.Reflection.v1']);
    const methods = doc.protocols[0]!.methods!;
    expect(methods).toHaveLength(90);
    expect(methods.find((m) => m.name === 'produce_n')?.kind).toBe('producer');
  });

  it('calls unary, producer and exchange methods, and survives an RPC error', async () => {
    expect(await runCli(['call', ...flags, 'echo_uint64', 'value=18446744073709551615', '--json'])).toEqual({ code: 0, stdout: '18446744073709551615\n', stderr: '' });
    const failed = await runCli(['call', ...flags, 'raise_runtime_error', 'message=nope']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('RuntimeError: nope');
    const produced = await runCli(['call', ...flags, 'produce_n', 'count=3', '--json']);
    expect(produced.code).toBe(0);
    expect(lines(produced.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ index: 0, value: 0 }, { index: 1, value: 10 }, { index: 2, value: 20 }]);
    const exchanged = await runCli(['call', ...flags, 'exchange_scale', 'factor=3', '--input', input, '--json']);
    expect(exchanged.code).toBe(0);
    expect(lines(exchanged.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ value: 1.5 }, { value: 12 }]);
    // Another protocol of the same server, by name.
    expect(await runCli(['call', '--url', origin, '-p', 'conformance.Secondary.v1', 'echo_string', 'value=hi'])).toEqual({ code: 0, stdout: 'secondary:hi\n', stderr: '' });
  });

  it('Ctrl-C (SIGINT to the process group) cancels a running HTTP stream and exits 130', async () => {
    const child = spawn(process.execPath, [CLI, 'call', ...flags, 'cancellable_producer', '--json'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        const before = stdout.length;
        stdout += d;
        if (before === 0) {
          process.kill(-child.pid!, 'SIGINT');
          resolve();
        }
      });
    });
    expect(await closed).toBe(130);
    expect(stderr).toContain('interrupted: cancelling the stream');
    const rows = lines(stdout).map((l) => JSON.parse(l) as { index: number });
    expect(rows.length).toBeGreaterThan(0);
    rows.forEach((r, i) => expect(r.index).toBe(i));
    // The server is still serving.
    expect((await runCli(['call', ...flags, 'echo_string', 'value=after'])).stdout).toBe('after\n');
  });

  it("reaches a server mounted under a prefix through the URL's path; the bare origin has no server (69)", async () => {
    const { origin: mounted } = await serveHttp(['--prefix', '/vgi']);
    expect(await runCli(['call', '--url', `${mounted}/vgi`, '-p', 'ConformanceService', 'echo_string', 'value=under a prefix'])).toEqual({ code: 0, stdout: 'under a prefix\n', stderr: '' });
    const bare = await runCli(['describe', '--url', mounted]);
    expect(bare.code).toBe(69);
    expect(bare.stderr).toContain(`cannot connect to ${mounted}/`);
    expect(bare.stderr).toContain(`the capability probe HEAD ${mounted}/health failed: HTTP 4`);
  });

  it('no server at the URL exits 69; a URL that is not http(s), or two transports, exit 64', async () => {
    // A port nobody listens on: bind one, then close it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = await runCli(['describe', '--url', `http://127.0.0.1:${port}`, '--json']);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`cannot connect to http://127.0.0.1:${port}`);
    expect(down.stdout).toBe('');
    const ftp = await runCli(['describe', '--url', 'ftp://127.0.0.1/x']);
    expect(ftp.code).toBe(64);
    expect(ftp.stderr).toContain('--url expects an http:// or https:// URL');
    const notUrl = await runCli(['describe', '--url', '127.0.0.1:8000']);
    expect(notUrl.code).toBe(64);
    const two = await runCli(['describe', '--url', origin, '--tcp', '127.0.0.1:1']);
    expect(two.code).toBe(64);
    expect(two.stderr).toContain('give only one of --cmd, --unix, --tcp, --url');
  });
});
