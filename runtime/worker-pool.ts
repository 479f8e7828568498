/**
 * The pool of worker threads (piscina) that owns connections and calls.
 * Each worker boots one Effect runtime hosting the service Layer (its
 * module's top-level await) and reports READY by answering a ping addressed
 * to it. A task goes to the least busy worker, or to the one it names by
 * thread id (`runOn`): the worker that holds the live state a continuation
 * needs. A worker that dies fails only what it owned and is replaced.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { diagnostic } from './diagnostics.js';
import { builtFile } from './package-root.js';
import type { ConnectionTask, TransportTask, WorkerData, WorkerStats, WorkerTask } from './channel.js';
import type { ServerLogLevel } from '../src/protocol/call-log.js';

/** How to size and build the pool. */
export interface PoolOptions {
  /** The application's worker module (its default export comes from `workerEntry`). */
  readonly workerModule: string | URL;
  /** Worker threads; default `os.availableParallelism()`. */
  readonly workers?: number;
  /** V8 heap limits per worker (an overflow kills only that worker). */
  readonly resourceLimits?: ResourceLimits;
  /** Receives pool-level errors that no connection owns. */
  readonly onError?: (e: Error) => void;
  /** The server id every worker stamps (one server, many threads). */
  readonly serverId: string;
  /** The server log's level every worker logs at (each worker's default otherwise). */
  readonly logLevel?: ServerLogLevel;
  /** Per-transport settings for the transports' worker-side parts (WorkerData.transports). */
  readonly transports?: Readonly<Record<string, unknown>>;
}

/** The default pool size: one worker per core. */
export const defaultWorkers = (): number => availableParallelism();

/** Connections served by one worker at most; high, because a connection is a long-lived task. */
const CONNECTIONS_PER_WORKER = 4096;

/** Where a task is addressed: set under piscina's queue-options symbol, read by the pool's balancer. */
interface Address {
  readonly threadId: number;
}

type Task = WorkerTask;

/**
 * The script piscina starts each worker with (worker-loader.cts, which import()s the worker
 * module), found as package-root.ts finds built files; undefined when it is not there, and
 * piscina then loads the worker module itself.
 */
const workerLoader = (): string | undefined => builtFile(new URL('./worker-loader.cjs', import.meta.url), 'runtime', 'worker-loader.cjs');

/** A worker module's file URL, from a URL, a file URL's text or a path. */
const moduleHref = (m: string | URL): string => (m instanceof URL ? m.href : m.startsWith('file:') ? m : pathToFileURL(resolve(m)).href);

/** The least busy worker that can take one more task, or null when all are full. */
const leastBusy = (workers: readonly PiscinaWorkerView[]): PiscinaWorkerView | null => {
  let best: PiscinaWorkerView | null = null;
  for (const w of workers) {
    if (w.terminating || w.destroyed || w.currentUsage >= CONNECTIONS_PER_WORKER) continue;
    if (best === null || w.currentUsage < best.currentUsage) best = w;
  }
  return best;
};

/** What the balancer sees of a worker (piscina's PiscinaWorker: `id` is its thread id). */
interface PiscinaWorkerView {
  readonly id: number;
  readonly currentUsage: number;
  readonly terminating: boolean;
  readonly destroyed: boolean;
}

/** `task` addressed to the worker `threadId` (the symbol-keyed address is not cloned to the worker). */
const addressed = <T extends Task>(task: T, threadId: number): T => ({ ...task, [Piscina.queueOptionsSymbol]: { threadId } satisfies Address });

/** A pool of worker threads serving connection tasks. */
export class WorkerPool {
  private readonly piscina: Piscina<Task, unknown>;
  /** Thread ids of the workers that have started and not exited. */
  private readonly live = new Set<number>();
  /** Number of worker threads. */
  readonly size: number;

  /** Start the pool; workers boot in the background (see `ready`). */
  constructor(options: PoolOptions) {
    this.size = options.workers ?? defaultWorkers();
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`a worker pool needs at least one worker (got ${this.size})`);
    const loader = workerLoader();
    const workerData: WorkerData = {
      module: moduleHref(options.workerModule),
      serverId: options.serverId,
      ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
      ...(options.transports === undefined ? {} : { transports: options.transports }),
    };
    this.piscina = new Piscina<Task, unknown>({
      // The loader's export `handler` is the worker module's default export, loaded by import() alone.
      ...(loader === undefined ? { filename: workerData.module } : { filename: loader, name: 'handler' }),
      minThreads: this.size,
      maxThreads: this.size,
      // Workers are never recycled for idleness: they own live connections and session state.
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: CONNECTIONS_PER_WORKER,
      // Atomics mode would block an idle worker's event loop, starving long-lived fibers.
      atomics: 'disabled',
      workerData,
      loadBalancer: (task, workers) => {
        const address = (task as unknown as Record<symbol, Address | null | undefined>)[Piscina.queueOptionsSymbol] ?? null;
        const views = workers as unknown as readonly PiscinaWorkerView[];
        if (address !== null) {
          const owner = views.find((w) => w.id === address.threadId && !w.terminating && !w.destroyed);
          if (owner !== undefined) return owner as never;
          // Alive but not ready yet: wait for it. Gone: any worker takes it, and the task names its
          // owner, so that worker answers it as lost rather than leaving it queued forever.
          if (this.live.has(address.threadId)) return null;
        }
        return leastBusy(views) as never;
      },
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    this.piscina.on('error', (e: Error) => (options.onError ?? ((x: Error) => diagnostic('error')(`vgi-rpc: worker pool: ${x.message}`)))(e));
    this.piscina.on('workerCreate', (w: { readonly id: number }) => {
      // The thread id is read now: a thread that has exited reports -1.
      const tid = w.id;
      this.live.add(tid);
      for (const f of this.startListeners) f(tid);
      const thread = this.piscina.threads.find((t) => t.threadId === tid);
      thread?.once('exit', () => {
        this.live.delete(tid);
        for (const f of this.exitListeners) f(tid);
      });
    });
  }

  private readonly exitListeners: ((threadId: number) => void)[] = [];
  private readonly startListeners: ((threadId: number) => void)[] = [];

  /**
   * Call `f` with a worker's thread id whenever a worker thread starts after
   * this call (a replacement of one that exited); tasks addressed to it wait
   * until it is READY.
   */
  onWorkerStart(f: (threadId: number) => void): void {
    this.startListeners.push(f);
  }

  /** Call `f` with a worker's thread id whenever a worker thread exits (crashed, or stopped by `close`). */
  onWorkerExit(f: (threadId: number) => void): void {
    this.exitListeners.push(f);
  }

  /**
   * Resolves once every worker has booted its runtime, each READY in its own
   * answer to a ping addressed to it, with their thread ids.
   */
  async ready(): Promise<readonly number[]> {
    const answers = await Promise.all(this.piscina.threads.map((t) => this.ping(t.threadId)));
    return answers.map((a) => a.threadId);
  }

  /** Ask the worker `threadId` for its state (another worker answers if that one has exited). */
  ping(threadId: number): Promise<WorkerStats> {
    return this.piscina.run(addressed({ ping: true }, threadId)) as Promise<WorkerStats>;
  }

  /**
   * Hand a transport's task to the worker `threadId` (waiting for it if it
   * is still starting; if it has exited, another worker gets it and answers
   * as its transport decides). `transfer`: buffers and ports moved, not cloned.
   */
  runTask(threadId: number, task: TransportTask, transfer: readonly TransferListItem[] = []): Promise<unknown> {
    return this.piscina.run(addressed(task, threadId), { transferList: transfer as TransferListItem[] });
  }

  /** Thread ids of the workers that have started and not exited. */
  get liveWorkers(): readonly number[] {
    return [...this.live];
  }

  /** Hand a connection to the least busy worker; settles when the worker is done with it (rejects if the worker died). */
  run(task: ConnectionTask): Promise<WorkerStats> {
    return this.piscina.run(task, { transferList: [task.port as unknown as TransferListItem] }) as Promise<WorkerStats>;
  }

  /**
   * Hand a connection to the worker `threadId` (waiting for it if it is
   * still starting). If that worker has exited, another one gets it.
   */
  runOn(threadId: number, task: ConnectionTask): Promise<WorkerStats> {
    return this.piscina.run(addressed(task, threadId), { transferList: [task.port as unknown as TransferListItem] }) as Promise<WorkerStats>;
  }

  /** The worker threads (for diagnostics and tests). */
  get threads(): readonly import('node:worker_threads').Worker[] {
    return this.piscina.threads;
  }

  /** Stop the workers (after their connections are done). */
  async close(): Promise<void> {
    await this.piscina.close();
  }

  /** Stop the workers at once. */
  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
