/**
 * Test support: a client connection to a runtime over in-process Node
 * streams (PassThrough pairs), the same path a socket takes.
 */
import { PassThrough } from 'node:stream';
import { RpcConnection } from '../../src/index.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import type { ForwardedConnection } from '../../runtime/connection-bridge.js';
import { framesFrom, writerTo } from '../../runtime/node-stream-io.js';

/** Open a connection served by `runtime`. */
export const connectTo = (runtime: RpcRuntime): { conn: RpcConnection; served: ForwardedConnection } => {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = runtime.serve({ readable: toServer, writable: toClient, transportKind: 'unix', label: 'test connection' });
  const conn = new RpcConnection({ frames: framesFrom(toClient), write: writerTo(toServer), close: () => { toServer.end(); } });
  return { conn, served };
};
