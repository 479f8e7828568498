/**
 * Public API of the vgi-rpc runtime: value types, service definitions,
 * handler context, the protocol core and the typed client.
 */
export * as T from './types/index.js';
export * as Method from './service/method.js';
export * as Service from './service/service.js';
export * as Client from './client/typed-client.js';
export * as Reflected from './client/reflected-client.js';
export { Output, BatchView, ReleasedBatchError, type Emission } from './service/stream-output.js';
export type { ProducerStream, ExchangeStream, Tick, Handlers, ServiceDef, AnyService, Resumable } from './service/service.js';
export { resumable } from './service/service.js';
export { CallContext, clientLog, type CallContextService, type TransportKind, type ClientLogLevel } from './service/call-context.js';
export { RpcError, Errors, ErrorKind } from './service/errors.js';
export { Dispatcher, type DispatcherOptions } from './protocol/dispatcher.js';
export { Hosting } from './protocol/hosting.js';
export { protocolHash, hashPreimage } from './protocol/protocol-hash.js';
export { Reflection, REFLECTION_PROTOCOL } from './protocol/reflection.js';
export { RpcConnection, ByteStreamSession, StreamSession, type ClientTransport, type ClientConnection, type CallOptions } from './client/connection.js';
export {
  HttpConnection, HttpStreamSession, HttpError, httpConnect, httpConnectScoped, httpSessionScoped, DEFAULT_RETRY,
  type HttpConnectOptions, type RetryPolicy, type ServerCapabilities,
} from './client/http/index.js';
export { RpcClientError } from './client/client-error.js';
export type { ReceivedLog, LogHandler } from './client/client-log.js';
export { Keys } from './wire/metadata-keys.js';
export { IpcFormatError, IpcLimitError, IpcTruncatedError } from './wire/errors.js';
export { type ReaderLimits, defaultReaderLimits } from './wire/stream-reader.js';
export { FrameSource, type FlowControl } from './wire/frame-source.js';
export { Interruption, type InterruptionReason } from './service/interruption.js';
