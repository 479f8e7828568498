/**
 * The server runtime: where connections run (a pool of worker threads, or
 * the main thread when the pool size is 0) and how the server stops. A
 * drain stops accepting, lets connections answer what they have received
 * within the grace period, then interrupts what is left with a typed error,
 * runs every finalizer and closes the pool.
 */
import type * as Layer from 'effect/Layer';
import { newServerId } from '../src/protocol/hosting.js';
import type { DispatcherOptions, Hostable, Dispatcher } from '../src/protocol/dispatcher.js';
import { makeDispatcher } from './make-dispatcher.js';
import type { ServiceImpl } from '../src/service/service.js';
import { type ConnectionEnds, type ForwardedConnection, type ForwardingCounters, forwardToWorker } from './connection-bridge.js';
import { serveInThread } from './in-thread.js';
import type { WorkerPool } from './worker-pool.js';
import { availableParallelism } from 'node:os';
import { AcceptHub, type SharedListener } from './accept-hub.js';
import type { ResourceLimits } from 'node:worker_threads';

/**
 * Who accepts socket connections when there is a pool. `workers` (the
 * default): every worker accepts on its own descriptor of the listening
 * socket and serves its connections with no main-thread hop. `relay`: the
 * main thread accepts and forwards each connection's bytes to a worker; it
 * costs a thread hop per message, but when a worker dies the main thread
 * still answers that worker's clients with a typed error naming the cause.
 */
export type AcceptMode = 'workers' | 'relay';

/** Options of the runtime. */
export interface RuntimeOptions<E> extends DispatcherOptions {
  /** Services to host (in listing order). */
  readonly services: readonly Hostable[];
  /** Their implementations (used on the main thread when `workers` is 0). */
  readonly layer: Layer.Layer<ServiceImpl<any>, E, never>;
  /** The worker module hosting the same services (required when `workers` > 0). */
  readonly workerModule?: string | URL;
  /** Worker threads; 0 runs every call on the main thread. Default: one per core. */
  readonly workers?: number;
  /** How long a drain waits for running calls before interrupting them (ms, default 30 s). */
  readonly graceMs?: number;
  /** V8 heap limits per worker. */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Who accepts socket connections when there is a pool. Default `workers`,
   * except with `resourceLimits`: then `relay`, because a worker killed by
   * its heap limit gets no chance to write, and only connections the main
   * thread holds can still be answered with WorkerCrashedError.
   */
  readonly accept?: AcceptMode;
}

/** Where connections are served and how the server is stopped: the drain handle. */
export class RpcRuntime {
  private readonly live = new Set<ForwardedConnection>();
  private draining: Promise<void> | undefined;
  private readonly drainListeners: (() => void)[] = [];
  /** Forwarding byte counts (worker pools only). */
  readonly counters: ForwardingCounters = { copied: 0, transferred: 0, gathered: 0 };

  private constructor(
    /** The id every worker stamps on its log and error batches. */
    readonly serverId: string,
    private readonly pool: WorkerPool | undefined,
    private readonly local: { dispatcher: Dispatcher; dispose: () => Promise<void> } | undefined,
    private readonly graceMs: number,
    private readonly hub: AcceptHub | undefined,
  ) {}

  /** Start the runtime; resolves once every worker is READY. */
  static async start<E>(options: RuntimeOptions<E>): Promise<RpcRuntime> {
    const serverId = options.serverId ?? newServerId();
    const workers = options.workers ?? availableParallelism();
    const graceMs = options.graceMs ?? 30_000;
    if (workers === 0) {
      const local = await makeDispatcher(options.services, options.layer, { ...options, serverId });
      return new RpcRuntime(serverId, undefined, local, graceMs, undefined);
    }
    if (options.workerModule === undefined) throw new TypeError('a worker pool needs the worker module hosting the services (workerModule)');
    // Loaded only for a pool: a server on the main thread starts without piscina.
    const { WorkerPool } = await import('./worker-pool.js');
    const pool = new WorkerPool({
      workerModule: options.workerModule,
      workers,
      serverId,
      ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    const accept = options.accept ?? (options.resourceLimits === undefined ? 'workers' : 'relay');
    const hub = accept === 'workers' ? new AcceptHub(serverId, pool) : undefined;
    await pool.ready();
    return new RpcRuntime(serverId, pool, undefined, graceMs, hub);
  }

  /** Number of worker threads (0 when calls run on the main thread). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** The pool's threads, for diagnostics and tests. */
  get threads(): readonly import('node:worker_threads').Worker[] {
    return this.pool?.threads ?? [];
  }

  /** Connections being served (by the main thread's relay and by the workers themselves). */
  get connections(): number {
    return this.live.size + (this.hub?.connections ?? 0);
  }

  /** True when socket listeners should be shared with the workers (`accept: 'workers'` and a pool). */
  get acceptsInWorkers(): boolean {
    return this.hub !== undefined && this.draining === undefined;
  }

  /**
   * Let every worker accept on `listener` (see AcceptMode); resolves once
   * all of them do. Only when `acceptsInWorkers`.
   */
  async shareListener(listener: SharedListener): Promise<void> {
    if (this.hub === undefined) throw new Error('this runtime has no workers accepting connections');
    await this.hub.share(listener);
  }

  /** Stop the workers accepting on the shared listener (their connections go on). */
  stopSharing(): void {
    this.hub?.stop();
  }

  /** True once a drain has started. */
  isDraining(): boolean {
    return this.draining !== undefined;
  }

  /** Register a listener that stops accepting when the drain starts (listeners, stdin). */
  onDrain(stopAccepting: () => void): void {
    if (this.draining !== undefined) stopAccepting();
    else this.drainListeners.push(stopAccepting);
  }

  /** Serve one connection. A draining runtime refuses it (the connection is closed at once). */
  serve(ends: ConnectionEnds): ForwardedConnection {
    if (this.draining !== undefined) {
      ends.readable.destroy();
      if (!ends.writable.writableEnded) ends.writable.end();
      return { drain: () => {}, shutdown: () => {}, done: Promise.resolve({ error: 'the server is draining' }) };
    }
    const c = this.pool !== undefined
      ? forwardToWorker(this.pool, ends, this.serverId, this.counters)
      : serveInThread(this.local!.dispatcher, ends);
    this.live.add(c);
    void c.done.then(() => this.live.delete(c));
    return c;
  }

  /** Graceful stop: refuse new connections, finish running calls within the grace period, interrupt the rest, release everything. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      for (const stop of this.drainListeners.splice(0)) stop();
      for (const c of this.live) c.drain();
      const all = (): Promise<unknown> => Promise.all([...[...this.live].map((c) => c.done), this.hub?.drain()]);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), this.graceMs); });
      const outcome = await Promise.race([all().then(() => 'done' as const), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        const detail = `the ${this.graceMs / 1000} s grace period of the drain elapsed`;
        for (const c of this.live) c.shutdown(detail);
        this.hub?.shutdown(detail);
        await Promise.race([all(), new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
      await this.close();
    })();
    return this.draining;
  }

  /** Immediate stop: interrupt every running call now, then release everything. */
  async shutdown(): Promise<void> {
    const drained = this.drain();
    for (const c of this.live) c.shutdown('the server is shutting down');
    this.hub?.shutdown('the server is shutting down');
    await drained;
  }

  private async close(): Promise<void> {
    if (this.pool !== undefined) await this.pool.close();
    if (this.local !== undefined) await this.local.dispose();
  }
}
