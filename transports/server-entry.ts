/**
 * The package's `./server` entry: everything a program needs to serve
 * services: start a server (Promise, Effect or Layer), the whole main
 * module of a server program (`runMain`), the worker module's default
 * export (`workerEntry`), and the lower-level runtime and listeners.
 */
export { startServer, serve, serverLayer, RpcServer, ServeError, type Listen, type ServeOptions, type RunningServer } from './serve.js';
export {
  runMain,
  runServer,
  parseServerArgs,
  EX_USAGE,
  SERVER_FLAGS_SYNOPSIS,
  SERVER_FLAGS_USAGE,
  type MainOptions,
  type ServerArgs,
  type FlagHandler,
} from './server-command.js';
export { workerEntry, type WorkerEntryOptions } from './worker-module.js';
export { workerRuntime, type WorkerHook } from '../runtime/worker-entry.js';
export { RpcRuntime, type RuntimeOptions, type AcceptMode, type DrainParticipant } from '../runtime/rpc-runtime.js';
export type { RelayHop } from '../runtime/sab-relay.js';
export { makeDispatcher } from '../runtime/make-dispatcher.js';
export { drainOnSignals } from '../runtime/signals.js';
export { serveUnix, SocketPathError } from './unix/unix-server.js';
export { serveTcp, DEFAULT_TCP_HOST, type TcpAddress } from './tcp/tcp-server.js';
export type { SocketListener, ListenOptions } from './socket/socket-listener.js';
export { serveStdio } from './pipe/stdio-main.js';
export { memoryConnect } from './memory/memory-transport.js';
export { serveShm, type ShmListener, type ShmListenOptions, type ShmAcceptor, type ShmChannelHandle } from './shm/shm-server.js';
export { reserveStdout } from '../runtime/stdout-reservation.js';
export type { ConnectionEnds, ForwardedConnection } from '../runtime/connection-bridge.js';
export { Unauthorized, type AuthReason, type Authenticate } from './http/unauthorized.js';
export type { AuthContext } from './http/http-app.js';
export type { HttpOptions, CorsOptions, StickyOptions } from './http/http-config.js';
export type { StickyDrainHandle } from './http/serve-http.js';
export type { HttpEngineName } from './http/engine.js';
export { flyServerId, flyEchoHeaders, FLY_FORCE_INSTANCE_HEADER } from './http/fly.js';
