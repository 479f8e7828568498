/**
 * The `vgi-rpc` command line against our conformance worker listening on a
 * unix socket and on TCP (`--unix PATH`, `--tcp HOST:PORT`): describe, a
 * typed call, a producer and an exchange over each, and the worker keeps
 * serving after a CLI run ends with an RPC error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FirstLine, spawnFirstLine } from '../support/first-line.js';
import { WORKER, assertFreshBuild, lines, runCli } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'vgi-cli-sock-'));
const input = join(dir, 'in.jsonl');
writeFileSync(input, '{"value": 0.5}\n{"value": 4}\n');

const workers: FirstLine[] = [];

const listen = async (args: string[]): Promise<FirstLine> => {
  let err = '';
  const w = await spawnFirstLine(WORKER, [...args, '--workers', '1'], (s) => s.on('data', (d: Buffer) => { err += d.toString(); }));
  workers.push(w);
  if (w.line === null) throw new Error(`the worker exited before listening: ${err}`);
  return w;
};

beforeAll(assertFreshBuild);
afterAll(async () => {
  for (const w of workers) {
    w.child.kill('SIGTERM');
    await w.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

const transports: { name: string; start: () => Promise<string[]> }[] = [
  {
    name: 'unix',
    start: async () => {
      const path = join(dir, 'w.sock');
      const w = await listen(['--unix', path]);
      expect(w.line).toBe(`UNIX:${path}`);
      return ['--unix', path];
    },
  },
  {
    name: 'tcp',
    start: async () => {
      const w = await listen(['--tcp', '0']);
      const m = /^TCP:(.+)$/.exec(w.line!);
      expect(m).not.toBeNull();
      return ['--tcp', m![1]!];
    },
  },
];

for (const t of transports) {
  describe(`vgi-rpc over ${t.name}`, () => {
    let flags: string[];
    beforeAll(async () => {
      flags = [...(await t.start()), '-p', 'ConformanceService'];
    });

    it('describes the server', async () => {
      const r = await runCli(['describe', ...flags, '--json']);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { protocols: { name: string; methods?: { name: string }[] }[] };
      expect(doc.protocols[0]!.name).toBe('ConformanceService');
      expect(doc.protocols[0]!.methods!.map((m) => m.name)).toContain('echo_int');
    });

    it('calls unary, producer and exchange methods, and survives an RPC error', async () => {
      expect(await runCli(['call', ...flags, 'echo_uint64', 'value=18446744073709551615', '--json'])).toEqual({ code: 0, stdout: '18446744073709551615\n', stderr: '' });
      const failed = await runCli(['call', ...flags, 'raise_runtime_error', 'message=nope']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('RuntimeError: nope');
      const produced = await runCli(['call', ...flags, 'produce_n', 'count=2', '--json']);
      expect(produced.code).toBe(0);
      expect(lines(produced.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ index: 0, value: 0 }, { index: 1, value: 10 }]);
      const exchanged = await runCli(['call', ...flags, 'exchange_scale', 'factor=3', '--input', input, '--json']);
      expect(exchanged.code).toBe(0);
      expect(lines(exchanged.stdout).map((l) => JSON.parse(l) as unknown)).toEqual([{ value: 1.5 }, { value: 12 }]);
    });
  });
}
