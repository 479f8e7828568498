/**
 * The HTTP client, on its own: everything needed to call a vgi-rpc HTTP
 * server with `fetch`. Its module graph imports no Node module (a test
 * walks it), so a browser build can start here.
 */
export { HttpConnection, httpConnect, httpConnectScoped, httpSessionScoped, type HttpConnectOptions } from './http-connection.js';
export { HttpStreamSession } from './http-stream-session.js';
export { HttpError } from './http-error.js';
export { type RetryPolicy, DEFAULT_RETRY } from './retry.js';
export type { ServerCapabilities } from './capabilities.js';
export { StreamSession, type ClientConnection, type CallOptions, type Target } from '../call-surface.js';
export { RpcClientError } from '../client-error.js';
export type { ReceivedLog, LogHandler } from '../client-log.js';
