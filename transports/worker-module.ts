/**
 * The worker module's default export: the worker thread's runtime with
 * every transport's worker-side part (a pool's workers accept socket
 * connections themselves on a listener the main thread shares, and serve
 * in-process `shm` connections handed to them).
 *
 *   export default await workerEntry([Inventory], InventoryLive);
 */
import type * as Layer from 'effect/Layer';
import type { DispatcherOptions, Hostable } from '../src/protocol/dispatcher.js';
import type { ServiceImpl } from '../src/service/service.js';
import { workerRuntime } from '../runtime/worker-entry.js';
import { acceptInWorker } from './socket/worker-accept.js';
import { httpWorkerHook } from './http/http-worker-hook.js';
import type { Authenticate } from './http/unauthorized.js';
import { defaultAttacher } from './shm/segments.js';
import { shmInWorker } from './shm/shm-worker-hook.js';

/** What a worker module may set beyond the dispatcher's options. */
export interface WorkerEntryOptions extends DispatcherOptions {
  /**
   * HTTP with `listeners: 'workers'`: decides who made each request this
   * worker's own listener receives (throw `Unauthorized` for a 401); the
   * main thread's `http.authenticate` cannot reach a worker. Only that mode
   * runs it: a server in the default mode refuses to start with it.
   */
  readonly authenticate?: Authenticate;
}

/**
 * Build the default export of an application's worker module, hosting
 * `services` with `layer`. Its byte-stream connections accept a client's
 * shared-memory segment where segments can be mapped (`shm: false` turns that off).
 */
export const workerEntry = <E>(services: readonly Hostable[], layer: Layer.Layer<ServiceImpl<any>, E, never>, options: WorkerEntryOptions = {}) => {
  const { authenticate, ...dispatcherOptions } = options;
  return workerRuntime(services, layer, { ...dispatcherOptions, shm: defaultAttacher(dispatcherOptions.shm) ?? false }, [acceptInWorker, httpWorkerHook(authenticate), shmInWorker]);
};
