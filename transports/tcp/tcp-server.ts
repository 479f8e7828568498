/**
 * The TCP server: loopback by default, no auth or TLS, TCP_NODELAY on every
 * connection (pipelined small requests must not wait for Nagle).
 */
import type { AddressInfo } from 'node:net';
import { type ListenOptions, type SocketListener, listenSockets, listening } from '../socket/socket-listener.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { DEFAULT_TCP_HOST, type TcpAddress } from './tcp-address.js';

export { DEFAULT_TCP_HOST, type TcpAddress } from './tcp-address.js';

/** Serve `server` on `host:port` (port 0 picks a free port; see `address`); transport kind 'tcp'. */
export const serveTcp = (runtime: RpcRuntime, host: string = DEFAULT_TCP_HOST, port = 0, options: ListenOptions = {}): Promise<SocketListener<TcpAddress>> =>
  listenSockets(runtime, {
    transportKind: 'tcp',
    bind: async (net) => {
      // Sharing needs no staging: a client that connects before the workers take over is relayed.
      try {
        await listening(net, () => net.listen({ host, port }));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new Error(`cannot listen on tcp ${host}:${port}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (address already in use)' : ''}`, { cause: e });
      }
      return { host, port: (net.address() as AddressInfo).port };
    },
    discovery: (a) => `TCP:${a.host}:${a.port}`,
  }, options);
