/**
 * The WorkerHook of HTTP, kept light: every worker of a pool runs it, but
 * only a pool that serves HTTP (its workerData names HTTP settings) loads
 * the HTTP routes, on the first HTTP task, so socket and stdio servers'
 * workers start without them.
 */
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import type { WorkerData } from '../../runtime/channel.js';
import type { TransportTaskHandler } from '../../runtime/worker-entry.js';
import type { HttpSettings } from './http-config.js';
import type { Authenticate } from './unauthorized.js';

/** The transport name of HTTP tasks. */
export const HTTP_TASKS = 'http';

/**
 * The hook answering HTTP tasks in this worker when the pool serves HTTP;
 * `authenticate`: the worker module's hook, run by the worker's own
 * listener (`listeners: 'workers'`).
 */
export const httpWorkerHook = (authenticate?: Authenticate) => (dispatcher: Dispatcher, _serverId: string, data: WorkerData): TransportTaskHandler | void => {
  const settings = data.transports?.[HTTP_TASKS] as HttpSettings | undefined;
  if (settings === undefined) return;
  let handler: Promise<TransportTaskHandler> | undefined;
  return {
    transport: HTTP_TASKS,
    handle: async (payload) => {
      handler ??= import('./http-worker.js').then((m) => m.httpTaskHandler(dispatcher, settings, authenticate));
      return (await handler).handle(payload);
    },
  };
};

/** The hook of a worker module without an `authenticate` hook. */
export const httpInWorker = httpWorkerHook();
