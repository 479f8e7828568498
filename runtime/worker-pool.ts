/**
 * The pool of worker threads (piscina) that owns connections. Each worker
 * boots one Effect runtime hosting the service Layer (its module's top-level
 * await is the READY handshake) and serves many connections at once. A
 * connection is placed on the least busy worker and stays there; a worker
 * that dies fails only the connections it owned and is replaced.
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ConnectionTask, WorkerData, WorkerStats } from './channel.js';
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
}

/** The default pool size: one worker per core. */
export const defaultWorkers = (): number => availableParallelism();

/** Connections served by one worker at most; high, because a connection is a long-lived task. */
const CONNECTIONS_PER_WORKER = 4096;

/** A pool of worker threads serving connection tasks. */
export class WorkerPool {
  private readonly piscina: Piscina<ConnectionTask | { readonly ping: true }, WorkerStats>;
  /** Number of worker threads. */
  readonly size: number;

  /** Start the pool; workers boot in the background (see `ready`). */
  constructor(options: PoolOptions) {
    this.size = options.workers ?? defaultWorkers();
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`a worker pool needs at least one worker (got ${this.size})`);
    const workerData: WorkerData = { serverId: options.serverId, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) };
    this.piscina = new Piscina({
      filename: options.workerModule instanceof URL ? options.workerModule.href : options.workerModule,
      minThreads: this.size,
      maxThreads: this.size,
      // Workers are never recycled for idleness: they own live connections and session state.
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: CONNECTIONS_PER_WORKER,
      // Atomics mode would block an idle worker's event loop, starving long-lived fibers.
      atomics: 'disabled',
      workerData,
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    this.piscina.on('error', (e: Error) => (options.onError ?? ((x: Error) => process.stderr.write(`vgi-rpc: worker pool: ${x.message}\n`)))(e));
    this.piscina.on('workerCreate', (w: { readonly id: number }) => {
      // The thread id is read now: a thread that has exited reports -1.
      const tid = w.id;
      const thread = this.piscina.threads.find((t) => t.threadId === tid);
      thread?.once('exit', () => { for (const f of this.exitListeners) f(tid); });
    });
  }

  private readonly exitListeners: ((threadId: number) => void)[] = [];

  /** Call `f` with a worker's thread id whenever a worker thread exits (crashed, or stopped by `close`). */
  onWorkerExit(f: (threadId: number) => void): void {
    this.exitListeners.push(f);
  }

  /** Resolves once every worker has booted its runtime. */
  async ready(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.piscina.run({ ping: true })));
  }

  /** Hand a connection to the least busy worker; settles when the worker is done with it (rejects if the worker died). */
  run(task: ConnectionTask): Promise<WorkerStats> {
    return this.piscina.run(task, { transferList: [task.port as unknown as TransferListItem] });
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
