/**
 * Public API of the server runtime: building dispatchers, the worker-pool
 * runtime with its drain handle, worker modules, and signal handling.
 */
export { makeDispatcher } from './make-dispatcher.js';
export { RpcRuntime, type RuntimeOptions } from './rpc-runtime.js';
export type { RelayHop } from './sab-relay.js';
export { workerRuntime, type WorkerHook } from './worker-entry.js';
export { drainOnSignals } from './signals.js';
export { reserveStdout } from './stdout-reservation.js';
export type { ConnectionEnds, ForwardedConnection } from './connection-bridge.js';
