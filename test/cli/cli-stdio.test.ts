/**
 * The `vgi-rpc` command line against our conformance worker started with
 * `--cmd` (a subprocess per run): describe (text and JSON), typed unary
 * calls, defaults, RPC errors, usage errors, transport errors, producer
 * rows and exchanges fed from JSON lines, each with its exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, WORKER_CMD, assertFreshBuild, lines, runCli } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'vgi-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(assertFreshBuild);

const server = ['--cmd', WORKER_CMD, '-p', 'ConformanceService'];
const call = (...args: string[]) => runCli(['call', ...server, ...args]);

describe('vgi-rpc describe', () => {
  it('prints every application protocol with its methods, kinds and types', async () => {
    const r = await runCli(['describe', '--cmd', WORKER_CMD]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toContain('hosts: ConformanceService 2.0.0, conformance.Secondary.v1, vgi_rpc.Reflection.v1');
    expect(out).toContain('ConformanceService 2.0.0');
    expect(out).toContain('conformance.Secondary.v1');
    expect(out).not.toContain('vgi_rpc.Reflection.v1');
    expect(out.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual(expect.arrayContaining([
      'unary add_floats(a: float64, b: float64) -> float64',
      'unary echo_annotated_optional_int(value?: int32) -> int32?',
      'unary echo_dict(mapping: map<key:utf8,value?:int64>) -> map<key:utf8,value?:int64>',
      'producer produce_n(count: int64)',
      'producer produce_with_header(count: int64) header(total_expected: int64, description: utf8)',
      'exchange exchange_scale(factor: float64)',
      'unary void_noop()',
      'unary echo_string(value: utf8) -> utf8',
    ]));
  });

  it('--json prints one document; --protocol limits the methods to that protocol', async () => {
    const r = await runCli(['describe', '--cmd', WORKER_CMD, '--protocol', 'ConformanceService', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      request_version: string;
      protocols: { name: string; version: string | null; hash: string; methods?: { name: string; kind: string; params: { name: string; type: string; nullable: boolean }[]; result: { type: string } | null; header: { name: string }[] | null }[] }[];
    };
    expect(doc.request_version).toBe('1');
    expect(doc.protocols.map((p) => p.name)).toEqual(['ConformanceService', 'conformance.Secondary.v1', 'vgi_rpc.Reflection.v1']);
    const [primary, secondary] = doc.protocols;
    expect(primary!.version).toBe('2.0.0');
    expect(primary!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(secondary!.version).toBeNull();
    expect(secondary!.methods).toBeUndefined();
    const byName = new Map(primary!.methods!.map((m) => [m.name, m]));
    expect(byName.get('with_defaults')).toMatchObject({
      kind: 'unary',
      params: [{ name: 'required', type: 'int64', nullable: false }, { name: 'optional_str', type: 'utf8', nullable: false }, { name: 'optional_int', type: 'int64', nullable: false }],
      result: { type: 'utf8' },
      header: null,
    });
    expect(byName.get('produce_with_header')).toMatchObject({ kind: 'producer', result: null, header: [{ name: 'total_expected' }, { name: 'description' }] });
    expect(byName.get('exchange_scale')!.kind).toBe('exchange');
  });
});

describe('vgi-rpc call: unary', () => {
  it('reads parameters by their Arrow types: int64 keeps every digit', async () => {
    const r = await call('echo_int', 'value=-9223372036854775808', '--json');
    expect(r).toEqual({ code: 0, stdout: '-9223372036854775808\n', stderr: '' });
    const f = await call('add_floats', 'a=1.5', 'b=-0.25');
    expect(f).toEqual({ code: 0, stdout: '1.25\n', stderr: '' });
  });

  it('sends left-out parameters as null, so the server applies its defaults', async () => {
    const r = await call('with_defaults', 'required=7');
    expect(r).toEqual({ code: 0, stdout: 'required=7, optional_str=default, optional_int=42\n', stderr: '' });
    const given = await call('with_defaults', 'required=7', 'optional_int=-3', 'optional_str=x y', '--json');
    expect(given).toEqual({ code: 0, stdout: '"required=7, optional_str=x y, optional_int=-3"\n', stderr: '' });
  });

  it('takes containers as JSON and binary as hex or base64', async () => {
    const d = await call('echo_dict', 'mapping={"a": 1, "b": null}', '--json');
    expect(d).toEqual({ code: 0, stdout: '{"a":1,"b":null}\n', stderr: '' });
    const l = await call('echo_list', 'values:=["x", null, "z"]', '--json');
    expect(l).toEqual({ code: 0, stdout: '["x",null,"z"]\n', stderr: '' });
    const b = await call('echo_bytes', 'data=hex:00ff10', '--json');
    expect(b).toEqual({ code: 0, stdout: `"base64:${Buffer.from([0, 255, 16]).toString('base64')}"\n`, stderr: '' });
  });

  it('an RPC error exits 1 with the error type and message on stderr', async () => {
    const r = await call('raise_value_error', 'message=it broke');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ValueError: it broke');
    const missing = await call('with_defaults');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("parameter 'required'");
  });

  it('server logs go to stderr, the result to stdout', async () => {
    const r = await call('echo_with_info_log', 'value=hello');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toMatch(/\[server log\] INFO .*hello/);
  });
});

describe('vgi-rpc call: usage and transport errors', () => {
  it('usage errors exit 64', async () => {
    const none = await runCli(['call', 'echo_int', 'value=1']);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('--cmd');
    const two = await runCli(['call', '--cmd', WORKER_CMD, 'echo_int', 'value=1']);
    expect(two.code).toBe(64);
    expect(two.stderr).toContain('ConformanceService, conformance.Secondary.v1');
    const unknown = await call('no_such_method');
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("no method 'no_such_method'");
    const badValue = await call('echo_int', 'value=12x');
    expect(badValue.code).toBe(64);
    expect(badValue.stderr).toContain("parameter 'value' (int64)");
    const badParam = await call('echo_int', 'nope=1');
    expect(badParam.code).toBe(64);
    expect(badParam.stderr).toContain('parameters: value: int64');
    const flag = await runCli(['call', '--bogus', 'x']);
    expect(flag.code).toBe(64);
  });

  it('an unreachable server exits 69', async () => {
    const unix = await runCli(['describe', '--unix', join(dir, 'nothing-here.sock')]);
    expect(unix.code).toBe(69);
    expect(unix.stderr).toContain('ENOENT');
    // A port nobody listens on: bind one, then close it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const tcp = await runCli(['describe', '--tcp', `127.0.0.1:${port}`]);
    expect(tcp.code).toBe(69);
    expect(tcp.stderr).toContain('ECONNREFUSED');
    const cmd = await runCli(['describe', '--cmd', 'vgi-rpc-no-such-program --stdio']);
    expect(cmd.code).toBe(69);
    expect(cmd.stderr).toContain('ENOENT');
    const exits = await runCli(['describe', '--cmd', `'${process.execPath}' -e 'process.exit(3)'`]);
    expect(exits.code).toBe(69);
    expect(exits.stderr).toContain('exited with code 3');
  });
});

describe('vgi-rpc call: streams', () => {
  it('prints producer rows as JSON lines, the header first', async () => {
    const r = await call('produce_with_header', 'count=3', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([
      { __header__: { total_expected: 3, description: 'producing 3 batches' } },
      { index: 0, value: 0 },
      { index: 1, value: 10 },
      { index: 2, value: 20 },
    ]);
    const text = await call('produce_n', 'count=2');
    expect(text).toEqual({ code: 0, stdout: 'index=0  value=0\nindex=1  value=10\n', stderr: '' });
  });

  it('a producer that fails mid-stream prints the rows before the error and exits 1', async () => {
    const r = await call('produce_error_mid_stream', 'emit_before_error=2', '--json');
    expect(r.code).toBe(1);
    expect(lines(r.stdout).length).toBe(2);
    expect(r.stderr).toContain('RuntimeError');
  });

  it('feeds an exchange from a JSON-lines file: an object is a row, an array a batch of rows', async () => {
    const input = join(dir, 'scale.jsonl');
    writeFileSync(input, '{"value": 1}\n\n[{"value": 2.5}, {"value": 3}]\n');
    const r = await call('exchange_scale', 'factor=2', '--input', input, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ value: 2 }, { value: 5 }, { value: 6 }]);
    const acc = await runCli(['call', ...server, 'exchange_accumulate', '--input', '-'], { stdin: '{"value": 1.5}\n{"value": 2}\n' });
    expect(acc.code).toBe(0);
    expect(lines(acc.stdout)).toEqual(['running_sum=1.5  exchange_count=1', 'running_sum=3.5  exchange_count=2']);
  });

  it('exchange input errors: no --input 64, unreadable file 66, bad lines 65', async () => {
    const none = await call('exchange_scale', 'factor=2');
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('--input');
    const missing = await call('exchange_scale', 'factor=2', '--input', join(dir, 'absent.jsonl'));
    expect(missing.code).toBe(66);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"value": 1}\n{"value": "one"}\n');
    const mixed = await call('exchange_scale', 'factor=2', '--input', bad);
    expect(mixed.code).toBe(65);
    expect(mixed.stderr).toContain("column 'value' mixes integer and string");
    const stdin = await runCli(['call', ...server, 'exchange_scale', 'factor=2', '--input', '-'], { stdin: '{"value": 1}\nnot json\n' });
    expect(stdin.code).toBe(65);
    expect(stdin.stdout).toBe('value=2\n');
    expect(stdin.stderr).toContain('input line 2: not JSON');
    // The stream was cancelled cleanly before the CLI exited: the server reported no broken stream.
    expect(stdin.stderr).not.toContain('[server]');
  });

  it('Ctrl-C (SIGINT to the process group) cancels a running stream and exits 130', async () => {
    // The CLI leads a process group of its own, as a terminal's foreground job would; the server it starts is in another.
    const child = spawn(process.execPath, [CLI, 'call', ...server, 'cancellable_producer', '--json'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
    // The server saw a cancelled stream, not a signal: it neither drained nor reported an error.
    expect(stderr).not.toContain('[server]');
    const rows = lines(stdout).map((l) => JSON.parse(l) as { index: number });
    expect(rows.length).toBeGreaterThan(0);
    rows.forEach((r, i) => expect(r.index).toBe(i));
  });

  it('a reader that stops reading (| head) ends an endless stream quietly, exit 0', async () => {
    const child = spawn(process.execPath, [CLI, 'call', ...server, 'cancellable_producer', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const first = await new Promise<string>((resolve) => child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d)));
    child.stdout.destroy();
    expect(JSON.parse(first.split('\n')[0]!)).toEqual({ index: 0, value: 0 });
    expect(await closed).toBe(0);
    expect(stderr).toBe('');
  });
});

