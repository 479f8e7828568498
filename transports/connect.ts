/**
 * Connecting to a server, the public way: name an endpoint (a unix socket, a
 * TCP address, or a server command to spawn and talk to over its
 * stdin/stdout) and get an `RpcConnection`, either as a Promise (`open`,
 * closed by `conn.close()`) or as an Effect that closes it with its Scope
 * (`connect`). Wrap the connection with `Client.promises` or `Client.make`
 * for a typed client.
 */
import * as Effect from 'effect/Effect';
import type * as Scope from 'effect/Scope';
import { RpcClientError } from '../src/client/client-error.js';
import { type ClientTransport, RpcConnection } from '../src/client/connection.js';
import { type SpawnOptions, spawnServer } from './pipe/subprocess-client.js';
import { connectTcp } from './tcp/tcp-client.js';
import { connectUnix } from './unix/unix-client.js';

/**
 * Where a client connects. A string is `unix:PATH` or `tcp:HOST:PORT`
 * (the prefix in any case, so a server's discovery line `UNIX:<path>` or
 * `TCP:<host>:<port>` works as it is).
 */
export type Endpoint =
  | string
  | { readonly unix: string }
  /** `"host:port"` or `{ host, port }`. */
  | { readonly tcp: string | { readonly host: string; readonly port: number } }
  /** A server program speaking vgi-rpc on its stdin/stdout: `[command, ...args]`. */
  | { readonly command: readonly [string, ...string[]]; readonly spawn?: SpawnOptions };

const tcpAddress = (tcp: string | { readonly host: string; readonly port: number }): { host: string; port: number } => {
  if (typeof tcp !== 'string') return { host: tcp.host, port: tcp.port };
  const at = tcp.lastIndexOf(':');
  const port = Number(tcp.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw RpcClientError.local('TransportError', `a TCP endpoint is "host:port", got ${JSON.stringify(tcp)}`);
  return { host: tcp.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
};

/** Read a string endpoint (see `Endpoint`); a malformed one is a TransportError. */
export const parseEndpoint = (text: string): { readonly unix: string } | { readonly tcp: string } => {
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  if (colon > 0 && rest !== '' && scheme === 'unix') return { unix: rest };
  if (colon > 0 && rest !== '' && scheme === 'tcp') return { tcp: rest };
  throw RpcClientError.local('TransportError', `an endpoint is "unix:PATH" or "tcp:HOST:PORT", got ${JSON.stringify(text)}`);
};

/** What a failure to reach `endpoint` says. */
const unreachable = (endpoint: string, e: unknown): RpcClientError =>
  RpcClientError.local('TransportError', `cannot connect to ${endpoint}: ${e instanceof Error ? e.message : String(e)}`);

/**
 * Open the transport to `endpoint`; resolves once it is connected (a socket
 * connected, a process spawned) or rejects with an RpcClientError of type
 * TransportError.
 */
export const openTransport = async (given: Endpoint): Promise<ClientTransport> => {
  const endpoint = typeof given === 'string' ? parseEndpoint(given) : given;
  if ('unix' in endpoint) {
    const t = connectUnix(endpoint.unix);
    await t.connected.catch((e: unknown) => { throw unreachable(`unix socket ${endpoint.unix}`, e); });
    return t;
  }
  if ('tcp' in endpoint) {
    const { host, port } = tcpAddress(endpoint.tcp);
    const t = connectTcp(host, port);
    await t.connected.catch((e: unknown) => { throw unreachable(`tcp ${host}:${port}`, e); });
    return t;
  }
  const [command, ...args] = endpoint.command;
  const t = await spawnServer(command, args, endpoint.spawn).catch((e: unknown) => { throw unreachable(`the server command ${command}`, e); });
  await t.started.catch((e: unknown) => { throw unreachable(`the server command ${command}`, e); });
  return t;
};

/** Open a connection to `endpoint` (see `openTransport`); close it with `conn.close()`. */
export const open = async (endpoint: Endpoint): Promise<RpcConnection> => new RpcConnection(await openTransport(endpoint));

/** A connection to `endpoint` held by the current Scope: closed when the Scope closes. */
export const connect = (endpoint: Endpoint): Effect.Effect<RpcConnection, RpcClientError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => open(endpoint),
      catch: (e) => (e instanceof RpcClientError ? e : unreachable(JSON.stringify(endpoint), e)),
    }),
    (conn) => Effect.promise(() => conn.close().catch(() => undefined)),
  );
