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
import { setDiagnosticLevel } from './diagnostics.js';
import type { ServiceImpl } from '../src/service/service.js';
import { type ConnectionEnds, type ForwardedConnection, type ForwardingCounters, finishEnds, forwardToWorker } from './connection-bridge.js';
import { type RelayHop, forwardOverSab } from './sab-relay.js';
import { serveInThread } from './in-thread.js';
import type { WorkerPool } from './worker-pool.js';
import { availableParallelism } from 'node:os';
import { refusalOf } from './drain-refusal.js';
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
  /** Settings for the transports' worker-side parts, by transport name (handed to every worker). */
  readonly transports?: Readonly<Record<string, unknown>>;
  /**
   * How relayed connections (`accept: 'relay'`, and stdio with a pool)
   * carry their bytes between the main thread and the worker: `port`
   * (default) transfers each read's buffer over a MessagePort; `sab` copies
   * them through a SharedArrayBuffer channel of two rings (sab-relay.ts).
   * The main thread's HTTP front end (`listeners: 'main'`) follows it for
   * its links to the workers too: with `sab`
   * its small requests and replies travel through rings of their own
   * (transports/http/link-ring.ts).
   */
  readonly hop?: RelayHop;
  /** Data bytes per direction of each connection's channel with `hop: 'sab'` (default 256 KiB). */
  readonly hopRingBytes?: number;
}

/** Something serving connections outside the runtime's own (the workers' accepted sockets) that a drain waits for. */
export interface DrainParticipant {
  /** Connections it serves right now. */
  readonly connections: number;
  /** Stop taking connections, let them finish; resolves when they have. */
  drain(): Promise<void>;
  /** Interrupt what its connections are running, with ServerShutdownError carrying `detail`. */
  shutdown(detail: string): void;
  /**
   * The process is about to exit at once (a second signal): release, as
   * fast as it can, what must not outlive it (uWS listeners in worker
   * threads abort the process if they are open when it exits).
   */
  halt?(): Promise<void>;
}

/** The worker threads a runtime started with `options` runs (0: none, every call on the main thread). */
export const workerCountOf = (options: { readonly workers?: number }): number => options.workers ?? availableParallelism();

/** Where connections are served and how the server is stopped: the drain handle. */
export class RpcRuntime {
  private readonly live = new Set<ForwardedConnection>();
  private readonly participants = new Set<DrainParticipant>();
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Set once running calls are being interrupted (grace elapsed, or shutdown): later connections get it too. */
  private interrupting: string | undefined;
  private readonly drainListeners: (() => void | Promise<void>)[] = [];
  /** Forwarding byte counts (worker pools only). */
  readonly counters: ForwardingCounters = { copied: 0, transferred: 0, gathered: 0 };

  private constructor(
    /** The id every worker stamps on its log and error batches. */
    readonly serverId: string,
    private readonly pool: WorkerPool | undefined,
    private readonly local: { dispatcher: Dispatcher; dispose: () => Promise<void> } | undefined,
    private readonly graceMs: number,
    /** Who accepts socket connections (undefined without a pool: the main thread serves them). */
    readonly acceptMode: AcceptMode | undefined,
    /** The workers run under V8 heap limits (`resourceLimits`): one may be killed by its heap limit, no JS run. */
    readonly heapLimited = false,
    /** How relayed connections and the HTTP front end's requests cross to their worker, and the ring size of the `sab` hop. */
    readonly hop: { readonly kind: RelayHop; readonly ringBytes?: number } = { kind: 'port' },
  ) {}

  /** Start the runtime; resolves once every worker is READY. */
  static async start<E>(options: RuntimeOptions<E>): Promise<RpcRuntime> {
    const serverId = options.serverId ?? newServerId();
    const workers = workerCountOf(options);
    const graceMs = options.graceMs ?? 30_000;
    if (options.hop !== undefined && options.hop !== 'port' && options.hop !== 'sab') throw new TypeError(`hop is 'port' or 'sab' (got ${String(options.hop)})`);
    const ringBytes = options.hopRingBytes;
    if (ringBytes !== undefined && (!Number.isInteger(ringBytes) || ringBytes < 1024 || ringBytes > 0x4000_0000)) throw new RangeError(`hopRingBytes is 1 KiB to 1 GiB (got ${ringBytes})`);
    // The main thread's own diagnostic lines (drain notices, relayed connections) follow the server's level.
    if (options.logLevel !== undefined) setDiagnosticLevel(options.logLevel);
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
      ...(options.transports === undefined ? {} : { transports: options.transports }),
    });
    const accept = options.accept ?? (options.resourceLimits === undefined ? 'workers' : 'relay');
    await pool.ready();
    const hop = { kind: options.hop ?? 'port', ...(options.hopRingBytes === undefined ? {} : { ringBytes: options.hopRingBytes }) };
    return new RpcRuntime(serverId, pool, undefined, graceMs, accept, options.resourceLimits !== undefined, hop);
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
    let n = this.live.size;
    for (const p of this.participants) n += p.connections;
    return n;
  }

  /** True when socket listeners should be shared with the workers (`accept: 'workers'` and a pool). */
  get acceptsInWorkers(): boolean {
    return this.pool !== undefined && this.acceptMode === 'workers' && this.draining === undefined;
  }

  /** The main thread's dispatcher when calls run on the main thread (no pool). */
  get localDispatcher(): Dispatcher | undefined {
    return this.local?.dispatcher;
  }

  /** The worker pool (undefined when calls run on the main thread), for transports that hand work to its workers. */
  get workerPool(): WorkerPool | undefined {
    return this.pool;
  }

  /**
   * Count `participant`'s connections as this runtime's, and make the drain
   * wait for it (`drain`) and interrupt it when the grace period ends
   * (`shutdown`): e.g. the workers' own socket accepting.
   */
  participate(participant: DrainParticipant): void {
    this.participants.add(participant);
  }


  /** True once a drain has started. */
  isDraining(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Register what stops accepting when the drain starts (listeners, stdin).
   * The drain waits for its promise: once it settles, no new connection
   * reaches the runtime.
   */
  onDrain(stopAccepting: () => void | Promise<void>): void {
    if (this.draining !== undefined) void Promise.resolve(stopAccepting()).catch(() => undefined);
    else this.drainListeners.push(stopAccepting);
  }

  /**
   * Serve one connection. One that arrives during a drain (the kernel had
   * completed it before the listener stopped) starts no work: every request
   * it sent is answered with ServerShutdownError, then it is closed in order
   * (see drain-refusal).
   */
  serve(ends: ConnectionEnds): ForwardedConnection {
    if (this.closed) {
      // Nothing serves any more (the listeners stopped before this): end it without a reset.
      const outcome = { error: 'the server has stopped' };
      return { drain: () => {}, shutdown: () => {}, done: finishEnds(ends, outcome).then(() => outcome) };
    }
    const refuse = refusalOf(this.draining !== undefined, this.interrupting);
    const c = this.pool === undefined
      ? serveInThread(this.local!.dispatcher, ends, refuse)
      : this.hop.kind === 'sab'
        ? forwardOverSab(this.pool, ends, this.serverId, this.hop.ringBytes, this.counters, refuse)
        : forwardToWorker(this.pool, ends, this.serverId, this.counters, refuse);
    this.live.add(c);
    void c.done.then(() => this.live.delete(c));
    return c;
  }

  /** Resolves once every connection served here (including any that arrive meanwhile) is finished. */
  private async liveDone(): Promise<void> {
    while (this.live.size > 0) await Promise.all([...this.live].map((c) => c.done));
  }

  /** Graceful stop: refuse new connections, finish running calls within the grace period, interrupt the rest, release everything. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      // The listeners stop first (a unix socket file is removed, then the connections the kernel
      // already queued are accepted): only then may the workers close their descriptors.
      const stopped = Promise.all(this.drainListeners.splice(0).map((stop) => Promise.resolve(stop()).catch(() => undefined)));
      for (const c of this.live) c.drain();
      const settled = (async () => {
        await stopped;
        await Promise.all([...[...this.participants].map((p) => p.drain()), this.liveDone()]);
      })();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), this.graceMs); });
      const outcome = await Promise.race([settled.then(() => 'done' as const), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.interruptAll(`the ${this.graceMs / 1000} s grace period of the drain elapsed`);
        await Promise.race([settled, new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
      await this.close();
    })();
    return this.draining;
  }

  /**
   * Before an immediate process exit: let the participants release what
   * must not outlive the process (see DrainParticipant.halt), waiting at
   * most `boundMs`.
   */
  async halt(boundMs = 1_000): Promise<void> {
    const halting = Promise.all([...this.participants].map((p) => p.halt?.().catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([halting, new Promise((r) => { timer = setTimeout(r, boundMs); })]);
    clearTimeout(timer);
  }

  /** Immediate stop: interrupt every running call now, then release everything. */
  async shutdown(): Promise<void> {
    const drained = this.drain();
    this.interruptAll('the server is shutting down');
    await drained;
  }

  /** Interrupt what every connection (and any that arrives later) is running, with ServerShutdownError. */
  private interruptAll(detail: string): void {
    this.interrupting ??= detail;
    for (const c of this.live) c.shutdown(detail);
    for (const p of this.participants) p.shutdown(detail);
  }

  private async close(): Promise<void> {
    this.closed = true;
    // Whatever a participant still holds in the workers goes before they are stopped.
    await this.halt();
    if (this.pool !== undefined) await this.pool.close();
    if (this.local !== undefined) await this.local.dispose();
  }
}
