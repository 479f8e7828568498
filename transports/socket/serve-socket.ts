/** Handing one accepted socket to the runtime, which serves it on a worker (or the main thread). */
import type { Socket } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ForwardedConnection } from '../../runtime/connection-bridge.js';
import { socketEnds } from './socket-ends.js';

/** Options shared by every connection of a socket server. */
export interface SocketServeOptions {
  /** Byte caps for incoming IPC messages (default: the reader's defaults). */
  readonly limits?: ReaderLimits;
}

/** Serve one accepted socket with `runtime`. */
export const serveSocket = (runtime: RpcRuntime, socket: Socket, transportKind: TransportKind, label: string, options: SocketServeOptions = {}): ForwardedConnection =>
  runtime.serve(socketEnds(socket, transportKind, label, options.limits));
