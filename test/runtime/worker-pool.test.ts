/**
 * The worker pool's addressing: every worker reports READY by answering a
 * ping addressed to it, tasks addressed to a worker by thread id land on
 * that worker, and a task addressed to a worker that has exited is taken
 * by another one instead of waiting forever.
 */
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
