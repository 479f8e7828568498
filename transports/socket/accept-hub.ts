/**
 * The main thread side of `accept: 'workers'`: it holds the server's
 * listening socket (without accepting on it), gives every worker its own
 * descriptor of it plus a slot in the balance table, gives a replacement
 * worker a descriptor when it boots, and on drain tells the workers to stop
 * accepting and waits until each has finished its connections (or died).
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { TransportKind } from '../../src/service/call-context.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import {
  type HubToWorker, type WorkerToHub, DEAD_SLOT, MAX_ACCEPT_SLOTS, acceptChannelName, announceChange, newBalanceTable,
} from './accept-channel.js';
import { type RawHandle, duplicateListener, handOver } from './listener-dup.js';
import type { WorkerPool } from '../../runtime/worker-pool.js';

/** What the workers accept on. */
export interface SharedListener {
  /** The main thread's descriptor of the listening socket (never accepted on; closed by `drain`). */
  readonly template: RawHandle;
  readonly transportKind: TransportKind;
  readonly limits?: ReaderLimits;
}

/** How long the workers may take to start accepting on a new listener. */
const LISTEN_TIMEOUT_MS = 30_000;

/** Hands the listener to the pool's workers and tracks them until they drain. */
export class AcceptHub {
  private readonly channel: BroadcastChannel;
  private readonly table = newBalanceTable();
  private readonly cells = new Int32Array(this.table);
  /** Balance slot per worker thread id (workers that were given a descriptor). */
  private readonly slots = new Map<number, number>();
  private readonly listening = new Set<number>();
  private readonly idle = new Set<number>();
  private listener: SharedListener | undefined;
  private draining = false;
  private stopped = false;
  private failure: Error | undefined;
  private readonly changed: (() => void)[] = [];

  /** Serve the accept channel of server `serverId` for `pool`. */
  constructor(serverId: string, private readonly pool: WorkerPool) {
    this.channel = new BroadcastChannel(acceptChannelName(serverId));
    this.channel.onmessage = (event: unknown) => this.onMessage((event as { data: WorkerToHub }).data);
    this.channel.unref();
    pool.onWorkerExit((tid) => this.workerGone(tid));
  }

  /** Connections the workers own right now. */
  get connections(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += Math.max(0, Atomics.load(this.cells, slot));
    return n;
  }

  /** Let every worker accept on `listener`; resolves once all of them do. */
  async share(listener: SharedListener): Promise<void> {
    if (this.listener !== undefined) throw new Error('the workers already accept on a listener');
    this.listener = listener;
    // The workers' descriptors are the only listeners now: keep the process alive while they accept.
    this.channel.ref();
    this.post({ t: 'offer' });
    await this.until(() => this.pool.threads.every((w) => this.listening.has(w.threadId)), LISTEN_TIMEOUT_MS, 'start accepting');
  }

  /** Stop accepting everywhere; the connections go on. */
  stop(): void {
    if (this.listener === undefined || this.stopped) return;
    this.stopped = true;
    this.post({ t: 'stop' });
    this.listener.template.close();
    // The channel stays referenced: a drain that follows needs the workers' idle reports, and until
    // then the workers' connections are what the process is serving.
  }

  /** Stop accepting everywhere and resolve once every worker has finished its connections (or died). */
  async drain(): Promise<void> {
    if (this.listener === undefined) return;
    if (!this.draining) {
      this.draining = true;
      this.stop();
      this.post({ t: 'drain' });
    }
    await this.until(() => [...this.slots.keys()].every((tid) => this.idle.has(tid)), undefined, 'drain');
    this.channel.unref();
  }

  /** Interrupt every call still running on the workers' connections. */
  shutdown(detail: string): void {
    if (this.listener !== undefined) this.post({ t: 'shutdown', detail });
  }

  private post(m: HubToWorker): void {
    this.channel.postMessage(m);
  }

  private onMessage(m: WorkerToHub): void {
    switch (m.t) {
      case 'want':
        void this.give(m.tid).catch((e: unknown) => this.fail(new Error(`cannot give worker ${m.tid} a listener: ${e instanceof Error ? e.message : String(e)}`)));
        return;
      case 'listening':
        this.listening.add(m.tid);
        break;
      case 'failed':
        this.fail(new Error(`worker ${m.tid} cannot accept: ${m.error}`));
        break;
      case 'idle':
        this.idle.add(m.tid);
        break;
    }
    this.notify();
  }

  private async give(tid: number): Promise<void> {
    const listener = this.listener;
    if (listener === undefined || this.stopped || this.slots.has(tid)) return;
    const slot = this.freeSlot();
    this.slots.set(tid, slot);
    Atomics.store(this.cells, slot, 0);
    const [copy] = await duplicateListener(listener.template, 1);
    if (this.stopped || !this.slots.has(tid)) {
      copy!.close();
      return;
    }
    this.post({
      t: 'listen', tid, fd: handOver(copy!), slot, table: this.table, transportKind: listener.transportKind,
      ...(listener.limits === undefined ? {} : { limits: listener.limits }),
    });
  }

  private freeSlot(): number {
    const used = new Set(this.slots.values());
    for (let i = 0; i < MAX_ACCEPT_SLOTS; i++) if (!used.has(i)) return i;
    throw new Error(`more than ${MAX_ACCEPT_SLOTS} accepting workers`);
  }

  private workerGone(tid: number): void {
    const slot = this.slots.get(tid);
    if (slot === undefined) return;
    this.slots.delete(tid);
    this.listening.delete(tid);
    this.idle.delete(tid);
    Atomics.store(this.cells, slot, DEAD_SLOT);
    announceChange(this.cells);
    this.notify();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    for (const f of this.changed.splice(0)) f();
  }

  /** Resolve when `done()` holds (re-checked on every change), reject on a failure or after `timeoutMs`. */
  private until(done: () => boolean, timeoutMs: number | undefined, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (this.failure !== undefined && !this.draining) {
          clearTimeout(timer);
          reject(this.failure);
        } else if (done()) {
          clearTimeout(timer);
          resolve();
        } else this.changed.push(check);
      };
      if (timeoutMs !== undefined) timer = setTimeout(() => reject(new Error(`the workers did not ${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      check();
    });
  }
}
