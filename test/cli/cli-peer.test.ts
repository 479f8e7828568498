/**
 * The `vgi-rpc` command line against another implementation: the npm
 * peer's stdio server (test/interop/peer-server.mjs, `@query-farm/vgi-rpc`
 * 0.25.4, hosting Bench and Interop 1.2.0), learned only through its
 * Reflection answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_SERVER, assertFreshBuild, lines, nodeCommand, runCli } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'vgi-cli-peer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(assertFreshBuild);

const PEER = nodeCommand(PEER_SERVER);
const interop = (...args: string[]) => runCli(['call', '--cmd', PEER, '--protocol', 'Interop', ...args]);

describe('vgi-rpc against the npm peer', () => {
  it('describes both of its protocols', async () => {
    const r = await runCli(['describe', '--cmd', PEER]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(out).toContain('hosts: Bench, Interop 1.2.0, vgi_rpc.Reflection.v1');
    expect(out).toEqual(expect.arrayContaining([
      'Bench',
      'Interop 1.2.0',
      'unary add(a: float64, b: float64) -> float64',
      'producer produce(n_batches: int64, rows: int64)',
      'exchange exchange_scale(factor: float64)',
      'unary echo_timestamp(value: timestamp(us,tz=UTC)) -> timestamp(us,tz=UTC)',
    ]));
  });

  it('calls its methods with typed parameters and its defaults', async () => {
    expect(await interop('with_defaults', 'required=3')).toEqual({ code: 0, stdout: 'required=3, optional_str=default, optional_int=42\n', stderr: '' });
    expect(await interop('echo_int', 'value=9007199254740993', '--json')).toEqual({ code: 0, stdout: '9007199254740993\n', stderr: '' });
    const ts = await interop('echo_timestamp', 'value=2024-01-02T03:04:05.123456Z', '--json');
    expect(ts).toEqual({ code: 0, stdout: `${Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123456}\n`, stderr: '' });
    expect(await runCli(['call', '--cmd', PEER, '-p', 'Bench', 'add', 'a=2', 'b=0.5'])).toEqual({ code: 0, stdout: '2.5\n', stderr: '' });
  });

  it('reports its errors with their kind, exit 1', async () => {
    const r = await interop('raise_with_kind', 'message=custom');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CustomKindError: custom [custom_kind]');
  });

  it('streams its producer and feeds its exchange', async () => {
    const p = await interop('produce_with_header', 'count=2', '--json');
    expect(p.code).toBe(0);
    expect(lines(p.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([
      { __header__: { total_expected: 2, description: 'producing 2 batches' } },
      { index: 0, value: 0 },
      { index: 1, value: 10 },
    ]);
    const input = join(dir, 'acc.jsonl');
    writeFileSync(input, '{"value": 1}\n{"value": 2.5}\n');
    const e = await interop('exchange_accumulate', '--input', input, '--json');
    expect(e.code).toBe(0);
    expect(lines(e.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ running_sum: 1, exchange_count: 1 }, { running_sum: 3.5, exchange_count: 2 }]);
  });
});
