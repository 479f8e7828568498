/**
 * The worker pool's addressing: every worker reports READY by answering a
 * ping addressed to it, tasks addressed to a worker by thread id land on
 * that worker, and a task addressed to a worker that has exited is taken
 * by another one instead of waiting forever. Workers load the worker
 * module by import() alone (never Node's require(esm)), and a module that
 * fails to load fails `ready` with its own error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../runtime/worker-pool.js';
import { staleOutputs } from '../support/stale-build.js';

const workerModule = new URL('../../dist/examples/bench/worker-thread.js', import.meta.url);

describe('worker pool addressing', () => {
  let pool: WorkerPool;
  let ready: readonly number[];
  beforeAll(async () => {
    const stale = staleOutputs('examples/bench/worker-thread.ts');
    if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    pool = new WorkerPool({ workerModule, workers: 3, serverId: 'aaaaaaaaaaaa' });
    ready = await pool.ready();
  });
  afterAll(async () => {
    await pool.destroy();
  });

  it('reports each worker READY once, by its thread id', () => {
    expect(new Set(ready).size).toBe(3);
    expect([...ready].sort()).toEqual([...pool.liveWorkers].sort());
    expect([...ready].sort()).toEqual(pool.threads.map((t) => t.threadId).sort());
  });

  it('runs a task addressed to a worker on that worker, every time', async () => {
    for (const target of ready) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => pool.ping(target)));
      expect(answers.map((a) => a.threadId)).toEqual(Array.from({ length: 20 }, () => target));
    }
  });

  it('hands a task addressed to an exited worker to a live one', async () => {
    const victim = ready[0]!;
    const thread = pool.threads.find((t) => t.threadId === victim)!;
    const exited = new Promise((r) => thread.once('exit', r));
    await thread.terminate();
    await exited;
    expect(pool.liveWorkers).not.toContain(victim);
    const answer = await pool.ping(victim);
    expect(answer.threadId).not.toBe(victim);
    expect(pool.liveWorkers).toContain(answer.threadId);
  });
});

describe('worker module loading', () => {
  const poolModule = new URL('../../dist/runtime/worker-pool.js', import.meta.url).href;
  /** Runs a pool of `workers` over `module` in a fresh process (with Node's require(esm) trace on); prints what `ready` gave. */
  const boot = (module: string, workers: number) => {
    const script = `
      import { WorkerPool } from ${JSON.stringify(poolModule)};
      const pool = new WorkerPool({ workerModule: ${JSON.stringify(module)}, workers: ${workers}, serverId: 'aaaaaaaaaaaa', onError: () => {} });
      try { console.log('READY ' + (await pool.ready()).length); } catch (e) { console.log('FAILED ' + e.message); }
      await pool.destroy();`;
    return spawnSync(process.execPath, ['--trace-require-module=all', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  };

  it('imports the worker module without require(esm) (the detour once aborted a process)', () => {
    const r = boot(workerModule.href, 2);
    expect(r.stdout.trim(), r.stderr).toBe('READY 2');
    // Node's trace names every ES module loaded by require(); the control below shows it prints.
    expect(r.stderr).not.toMatch(/loading ES Module .* using require\(\)/);
  });

  it('the trace this relies on does print a require(esm)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vgi-require-esm-'));
    try {
      writeFileSync(join(dir, 'esm.mjs'), 'export const x = 1;\n');
      writeFileSync(join(dir, 'main.cjs'), `require(${JSON.stringify(join(dir, 'esm.mjs'))});\n`);
      const r = spawnSync(process.execPath, ['--trace-require-module=all', join(dir, 'main.cjs')], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toMatch(/loading ES Module .*esm\.mjs using require\(\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a worker module that fails to load fails ready with that module's error", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vgi-bad-worker-'));
    try {
      const bad = join(dir, 'bad-worker.mjs');
      writeFileSync(bad, "await Promise.resolve();\nthrow new Error('the worker module refused to load');\n");
      const r = boot(bad, 1);
      expect(r.stdout.trim(), r.stderr).toBe('FAILED the worker module refused to load');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
