/**
 * The package's `./browser` entry: what a web page (or any runtime with
 * `fetch` and no Node modules) needs to call a vgi-rpc HTTP server: the
 * value types, method and service definitions (to describe the protocol it
 * calls), the typed and reflected clients, and the fetch-based HTTP client.
 * Its module graph imports no Node module (test/client/http-module-graph
 * walks it), so a bundler targeting browsers takes it as it is.
 */
export * as T from './types/index.js';
export * as Method from './service/method.js';
export * as Service from './service/service.js';
export * as Client from './client/typed-client.js';
export * as Reflected from './client/reflected-client.js';
export { Output, BatchView, type Emission } from './service/stream-output.js';
export type { ServiceDef } from './service/service.js';
export {
  HttpConnection, HttpStreamSession, HttpError, httpConnect, httpConnectScoped, httpSessionScoped, DEFAULT_RETRY,
  StreamSession, RpcClientError,
  type HttpConnectOptions, type RetryPolicy, type ServerCapabilities, type ClientConnection, type CallOptions, type Target,
  type ReceivedLog, type LogHandler,
} from './client/http/index.js';
export { Keys } from './wire/metadata-keys.js';
