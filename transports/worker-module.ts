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
import { httpInWorker } from './http/http-worker-hook.js';
import { defaultAttacher } from './shm/segments.js';
import { shmInWorker } from './shm/shm-worker-hook.js';

/**
 * Build the default export of an application's worker module, hosting
 * `services` with `layer`. Its byte-stream connections accept a client's
 * shared-memory segment where segments can be mapped (`shm: false` turns that off).
 */
export const workerEntry = <E>(services: readonly Hostable[], layer: Layer.Layer<ServiceImpl<any>, E, never>, options: DispatcherOptions = {}) =>
  workerRuntime(services, layer, { ...options, shm: defaultAttacher(options.shm) ?? false }, [acceptInWorker, httpInWorker, shmInWorker]);
