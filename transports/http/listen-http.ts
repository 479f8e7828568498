/**
 * Starting the HTTP front end on the engine that fits: uWebSockets.js where
 * its native binary loads, node:http otherwise, or the one the caller names.
 */
import type { HttpEngineName, HttpEngineOptions, HttpListener } from './engine.js';
import { listenNode } from './node-engine.js';
import { UwsUnavailableError, listenUws, uwsStatus } from './uws-engine.js';

export { UwsUnavailableError } from './uws-engine.js';

/** Options of `listenHttp`: the engine's, and which engine (`auto` by default). */
export type ListenHttpOptions = HttpEngineOptions & { readonly engine?: HttpEngineName };

/**
 * Listen with `options.engine`: `auto` takes uWebSockets.js when
 * `uwsAvailable()` and node:http otherwise; `uws` rejects with
 * UwsUnavailableError (saying why) where uWS cannot serve; `node` always
 * uses node:http.
 */
export const listenHttp = (options: ListenHttpOptions): Promise<HttpListener> => {
  const engine = options.engine ?? 'auto';
  if (engine === 'node') return listenNode(options);
  const status = uwsStatus();
  if (status.available) return listenUws(options);
  if (engine === 'uws') return Promise.reject(new UwsUnavailableError(status.reason));
  return listenNode(options);
};
