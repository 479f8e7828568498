/**
 * The worker thread side: boot one Effect runtime hosting the services (at
 * module load, so the pool's READY handshake waits for it), serve each
 * connection task handed over on its MessagePort, and accept connections on
 * a listener the main thread shares (through a transport's WorkerHook).
 */
import type * as Layer from 'effect/Layer';
import { threadId } from 'node:worker_threads';
import type { DispatcherOptions, Hostable, Dispatcher } from '../src/protocol/dispatcher.js';
import { makeDispatcher } from './make-dispatcher.js';
import type { ServiceImpl } from '../src/service/service.js';
import { FrameSource } from '../src/wire/frame-source.js';
import { concatBytes } from '../src/wire/batch-encoder.js';
import { serveConnection } from './serve-connection.js';
import { serveSabConnectionTask } from './sab-relay.js';
import { type ConnectionTask, type ToMain, type ToWorker, type WorkerData, type WorkerStats, type WorkerTask, connectionSignals, postBytes, relayedByteConnection } from './channel.js';

/** Serve one connection whose bytes arrive on `task.port`; resolves when it is finished. */
export const serveConnectionTask = async (dispatcher: Dispatcher, task: ConnectionTask): Promise<WorkerStats> => {
  const port = task.port;
  const send = (m: ToMain): void => port.postMessage(m);
  const frames = new FrameSource({ pause: () => send({ t: 'pause' }), resume: () => send({ t: 'resume' }) });
  let congested: { promise: Promise<void>; resolve: () => void } | undefined;
  const signals = connectionSignals();
  const { closed, drain, shutdown } = signals;
  port.on('message', (m: Uint8Array | ToWorker) => {
    if (m instanceof Uint8Array) return frames.push(m);
    if (signals.take(m)) return;
    switch (m.t) {
      case 'end': return frames.end();
      case 'congested':
        if (congested === undefined) {
          let resolve: () => void = () => {};
          const promise = new Promise<void>((r) => { resolve = r; });
          congested = { promise, resolve };
        }
        return;
      case 'drained':
        congested?.resolve();
        congested = undefined;
        return;
    }
  });
  const write = (chunks: readonly Uint8Array[]): void | Promise<void> => {
    // Our chunks may be cached headers or the handler's own arrays: gather them into one owned buffer to transfer.
    postBytes(port, chunks.length === 1 ? Uint8Array.prototype.slice.call(chunks[0]!) : concatBytes(chunks), true);
    return congested?.promise;
  };
  const conn = relayedByteConnection(task, { frames, write, closed, drain, shutdown }, send);
  const { error } = await serveConnection(dispatcher, conn, task.label);
  send(error === undefined ? { t: 'done' } : { t: 'done', error });
  port.close();
  return { threadId, connections: dispatcher.connections, runningCalls: dispatcher.runningCalls };
};

/** A transport's handler of its own tasks in a worker (see TransportTask). */
export interface TransportTaskHandler {
  readonly transport: string;
  handle(payload: unknown): Promise<unknown>;
}

/**
 * What a transport does in every worker of a pool once its runtime is up
 * (e.g. socket accepting: the worker takes its own descriptor of a shared
 * listener), given the worker's dispatcher, the server id and the pool's
 * workerData (its `transports` settings). It may return the handler of
 * that transport's tasks.
 */
export type WorkerHook = (dispatcher: Dispatcher, serverId: string, data: WorkerData) => TransportTaskHandler | void;

/**
 * Boot this worker's runtime hosting `services` and build its task handler
 * (the worker module's default export); `hooks` run once it is up, in a
 * pool's worker only. Applications use the `workerEntry` of the package's
 * `./server` entry, which adds the transports' hooks.
 */
export const workerRuntime = async <E>(
  services: readonly Hostable[],
  layer: Layer.Layer<ServiceImpl<any>, E, never>,
  options: DispatcherOptions = {},
  hooks: readonly WorkerHook[] = [],
): Promise<(task: WorkerTask) => Promise<unknown>> => {
  // Loaded here, not at import: a main program imports this module (through the `./server` entry)
  // and need not load piscina unless it starts worker threads.
  const { Piscina } = await import('piscina');
  // A pool's settings (server id, log level) override the module's own.
  const pool = Piscina.workerData as WorkerData | undefined;
  const fromPool = pool?.serverId;
  const { dispatcher } = await makeDispatcher(services, layer, fromPool === undefined ? options : {
    ...options,
    serverId: fromPool,
    ...(pool?.logLevel === undefined ? {} : { logLevel: pool.logLevel }),
  });
  const handlers = new Map<string, TransportTaskHandler>();
  if (fromPool !== undefined) {
    for (const hook of hooks) {
      const handler = hook(dispatcher, fromPool, pool!);
      if (handler !== undefined) handlers.set(handler.transport, handler);
    }
  }
  return async (task) => {
    if ('ping' in task) return { threadId, connections: dispatcher.connections, runningCalls: dispatcher.runningCalls };
    if ('transport' in task) {
      const handler = handlers.get(task.transport);
      if (handler === undefined) throw new Error(`this worker has no handler for ${task.transport} tasks`);
      return handler.handle(task.payload);
    }
    return task.sab === undefined ? serveConnectionTask(dispatcher, task) : serveSabConnectionTask(dispatcher, { ...task, sab: task.sab });
  };
};
