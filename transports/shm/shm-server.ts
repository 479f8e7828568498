/**
 * The `shm` listener: in-process connections over SAB channels. A client in
 * any thread of this process asks the listener for a channel
 * (`openChannel`, on the server's thread), and the listener hands its
 * server side to a worker of the runtime's pool (a transport task,
 * round-robin over the live workers), or serves it on this thread when the
 * runtime has no pool. The client side opens the channel in its own thread
 * (shm-client.ts). A worker that dies has its channels marked crashed from
 * its 'exit' event, so their clients get WorkerCrashedError rather than a
 * hang. The listener takes part in the runtime's drain.
 */
import { MessageChannel } from 'node:worker_threads';
import { RpcClientError } from '../../src/client/client-error.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ConnectionOutcome } from '../../runtime/serve-connection.js';
import { DEFAULT_RING_BYTES, type SabChannel, createSabChannel, markSideCrashed, watchThread } from '../../runtime/sab-channel.js';
import { serveShmChannel } from './shm-connection.js';
import { SHM_TASKS, type ShmControl, type ShmTask } from './shm-worker-hook.js';

/** What a client needs to open its side of one connection (cloneable: it may go to another thread). */
export interface ShmChannelHandle {
  readonly channel: SabChannel;
  /** Stamps the WorkerCrashedError the client reports if the serving thread dies. */
  readonly serverId: string;
  readonly label: string;
}

/** Hands out in-process connections (what an `{ inProcess }` endpoint names). */
export interface ShmAcceptor {
  /** A new connection's channel; rejects with RpcClientError TransportError once the server drains. */
  openChannel(): Promise<ShmChannelHandle>;
}

/** Options of the `shm` listener. */
export interface ShmListenOptions {
  /** Data bytes per direction of each channel (default 256 KiB). */
  readonly ringBytes?: number;
  /** Byte caps for incoming IPC messages. */
  readonly limits?: ReaderLimits;
}

/** The `shm` listener of a runtime. */
export interface ShmListener extends ShmAcceptor {
  /** Connections being served. */
  readonly connections: number;
}

interface Live {
  readonly control: (m: ShmControl) => void;
  readonly done: Promise<ConnectionOutcome>;
}

/** Serve in-process `shm` connections with `runtime`. */
export const serveShm = (runtime: RpcRuntime, options: ShmListenOptions = {}): ShmListener => {
  const live = new Set<Live>();
  let sequence = 0;
  let draining = false;
  let shutdownDetail: string | undefined;
  const pool = runtime.workerPool;
  const ringBytes = options.ringBytes ?? DEFAULT_RING_BYTES;

  const start = (channel: SabChannel, label: string): Live => {
    if (pool === undefined) {
      let startDrain: () => void = () => {};
      let startShutdown: (d: string) => void = () => {};
      const drain = new Promise<void>((r) => { startDrain = r; });
      const shutdown = new Promise<string>((r) => { startShutdown = r; });
      const done = serveShmChannel(runtime.localDispatcher!, channel, label, { drain, shutdown }, options.limits);
      return { control: (m) => (m.t === 'drain' ? startDrain() : startShutdown(m.detail)), done };
    }
    // Between a worker's death and its replacement's start, the pool's threads stand in for the live list.
    const alive = pool.liveWorkers;
    const workers = alive.length > 0 ? alive : pool.threads.map((t) => t.threadId);
    const tid = workers[sequence % workers.length]!;
    const { port1, port2 } = new MessageChannel();
    const task: ShmTask = { channel, label, control: port2, ...(options.limits === undefined ? {} : { limits: options.limits }) };
    const thread = pool.threads.find((t) => t.threadId === tid);
    const unwatch = thread === undefined ? () => {} : watchThread(thread, channel, 'b');
    const done = pool.runTask(tid, { transport: SHM_TASKS, payload: task }, [port2]).then(
      (outcome) => outcome as ConnectionOutcome,
      (e: unknown) => {
        // The worker died before or while serving: its 'exit' marks the channel too, with the exit code.
        markSideCrashed(channel, 'b', 1);
        return { error: `the worker thread serving this connection died: ${e instanceof Error ? e.message : String(e)}` };
      },
    ).finally(() => {
      unwatch();
      port1.close();
    });
    return { control: (m) => { try { port1.postMessage(m); } catch { /* closed */ } }, done };
  };

  runtime.participate({
    get connections() {
      return live.size;
    },
    drain: async () => {
      draining = true;
      for (const c of live) c.control({ t: 'drain' });
      while (live.size > 0) await Promise.all([...live].map((c) => c.done));
    },
    shutdown: (detail) => {
      shutdownDetail ??= detail;
      for (const c of live) c.control({ t: 'shutdown', detail });
    },
  });

  return {
    get connections() {
      return live.size;
    },
    openChannel: async () => {
      if (draining || runtime.isDraining()) throw RpcClientError.local('TransportError', 'the server is draining: it takes no new shm connections');
      const channel = createSabChannel(ringBytes);
      const label = `shm connection #${++sequence}`;
      const c = start(channel, label);
      live.add(c);
      void c.done.then(() => live.delete(c));
      if (shutdownDetail !== undefined) c.control({ t: 'shutdown', detail: shutdownDetail });
      return { channel, serverId: runtime.serverId, label };
    },
  };
};
