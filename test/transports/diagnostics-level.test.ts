/**
 * The server's plain diagnostic lines (a connection cut by a framing error,
 * a drain starting) follow --log-level like its log records: present at the
 * default level, gone at `none`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { spawnFirstLine } from '../support/first-line.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/bench/worker.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vgi-diag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serve on a unix socket with `flags`, send one connection garbage, drain with SIGTERM; the server's stderr. */
const garbageThenDrain = async (flags: readonly string[], workers: string): Promise<string> => {
  let stderr = '';
  const path = join(dir, `s${flags.join('')}${workers}.sock`);
  const w = await spawnFirstLine(WORKER, ['--unix', path, '--workers', workers, ...flags], (s) => s.on('data', (d: Buffer) => { stderr += d.toString(); }));
  expect(w.line).toBe(`UNIX:${path}`);
  const bad = connectUnix(path);
  await bad.write([Buffer.from('not arrow at all, just text\n'.repeat(4))]);
  while ((await bad.frames.next().catch(() => null)) !== null);
  await bad.close();
  // Give the worker's line time to arrive before the drain (it is written after the client saw the end).
  await new Promise((r) => setTimeout(r, 200));
  w.child.kill('SIGTERM');
  expect(await w.exited).toEqual({ code: 0, signal: null });
  return stderr;
};

describe('diagnostic lines and --log-level', () => {
  for (const workers of ['0', '2']) {
    it(`default level: the framing error and the drain are reported (${workers} workers)`, async () => {
      const stderr = await garbageThenDrain([], workers);
      expect(stderr).toMatch(/cannot read the request stream/);
      expect(stderr).toMatch(/SIGTERM received, draining/);
    });

    it(`--log-level none: nothing on stderr (${workers} workers)`, async () => {
      expect(await garbageThenDrain(['--log-level', 'none'], workers)).toBe('');
    });
  }
});
