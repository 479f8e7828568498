/**
 * Connecting to a server, the public way: name an endpoint (a unix socket, a
 * TCP address, a server command to spawn and talk to over its
 * stdin/stdout, an HTTP server's URL, or an in-process `shm` server) and get a connection (an
 * `RpcConnection`, or an `HttpConnection` for a URL), either as a Promise
 * (`open`, closed by `conn.close()`) or as an Effect that closes it with its
 * Scope (`connect`). Wrap the connection with `Client.promises` or
 * `Client.make` for a typed client.
 */
import * as Effect from 'effect/Effect';
import type * as Scope from 'effect/Scope';
import { RpcClientError } from '../src/client/client-error.js';
import { type ClientTransport, RpcConnection } from '../src/client/connection.js';
import { type HttpConnectOptions, HttpConnection, httpConnect } from '../src/client/http/http-connection.js';
import { type SpawnOptions, spawnServer } from './pipe/subprocess-client.js';
import { connectTcp } from './tcp/tcp-client.js';
import { connectUnix } from './unix/unix-client.js';
import { type ClientSegmentOptions, createClientSegment } from './shm/segments.js';
import type { ShmAcceptor } from './shm/shm-server.js';

/**
 * An HTTP server: its URL (the path is the server's prefix), as an
 * `http://` / `https://` string or `{ url, http }` with connect options.
 */
export type HttpEndpoint = `http://${string}` | `https://${string}` | { readonly url: string | URL; readonly http?: HttpConnectOptions };

/**
 * A shared-memory segment for a byte-stream connection to a server on this
 * machine (Linux): `{ size }` in bytes (more than 65,536), optionally the
 * batch size from which batches go through it (default 128 KiB, or
 * `VGI_RPC_SHM_MIN_BATCH_BYTES`). The client creates and owns it, names it
 * on every request, and unlinks it when the connection closes.
 */
export interface ShmOption {
  readonly shm?: ClientSegmentOptions;
}

/** A server reached over a byte stream (see `Endpoint`). */
export type ByteStreamEndpoint =
  | string
  | ({ readonly unix: string } & ShmOption)
  /** `"host:port"` or `{ host, port }`. */
  | ({ readonly tcp: string | { readonly host: string; readonly port: number } } & ShmOption)
  /** A server program speaking vgi-rpc on its stdin/stdout: `[command, ...args]`. */
  | ({ readonly command: readonly [string, ...string[]]; readonly spawn?: SpawnOptions } & ShmOption)
  /** A server in this process listening on `shm` (its RunningServer's `endpoint`): a SharedArrayBuffer channel to a worker thread. */
  | { readonly inProcess: ShmAcceptor };

/**
 * Where a client connects. A string is `unix:PATH`, `tcp:HOST:PORT` (the
 * prefix in any case, so a server's discovery line `UNIX:<path>` or
 * `TCP:<host>:<port>` works as it is) or an `http://` / `https://` URL.
 */
export type Endpoint = ByteStreamEndpoint | HttpEndpoint;

const tcpAddress = (tcp: string | { readonly host: string; readonly port: number }): { host: string; port: number } => {
  if (typeof tcp !== 'string') return { host: tcp.host, port: tcp.port };
  const at = tcp.lastIndexOf(':');
  const port = Number(tcp.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw RpcClientError.local('TransportError', `a TCP endpoint is "host:port", got ${JSON.stringify(tcp)}`);
  return { host: tcp.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
};

/** Read a string endpoint (see `Endpoint`); a malformed one is a TransportError. */
export const parseEndpoint = (text: string): { readonly unix: string } | { readonly tcp: string } | { readonly url: string } => {
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  if (colon > 0 && rest !== '' && scheme === 'unix') return { unix: rest };
  if (colon > 0 && rest !== '' && scheme === 'tcp') return { tcp: rest };
  if (colon > 0 && rest.startsWith('//') && rest.length > 2 && (scheme === 'http' || scheme === 'https')) return { url: text };
  // A local HTTP server's discovery line.
  if (scheme === 'port' && /^\d{1,5}$/.test(rest) && Number(rest) > 0 && Number(rest) <= 65535) return { url: `http://127.0.0.1:${rest}` };
  throw RpcClientError.local('TransportError', `an endpoint is "unix:PATH", "tcp:HOST:PORT", an http(s):// URL or "PORT:<n>" (a local HTTP server), got ${JSON.stringify(text)}`);
};

/** What a failure to reach `endpoint` says. */
const unreachable = (endpoint: string, e: unknown): RpcClientError =>
  RpcClientError.local('TransportError', `cannot connect to ${endpoint}: ${e instanceof Error ? e.message : String(e)}`);

/**
 * Open the byte transport to `endpoint`; resolves once it is connected (a
 * socket connected, a process spawned) or rejects with an RpcClientError of
 * type TransportError (also for an HTTP endpoint, which has no byte
 * transport: `open` it).
 */
export const openTransport = async (given: ByteStreamEndpoint): Promise<ClientTransport> => {
  const endpoint = typeof given === 'string' ? parseEndpoint(given) : given;
  if ('url' in endpoint) throw RpcClientError.local('TransportError', `${endpoint.url} is an HTTP endpoint, which has no byte transport: open it with open() or httpConnect()`);
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
  if ('inProcess' in endpoint) {
    const { connectShm } = await import('./shm/shm-client.js');
    return connectShm(endpoint.inProcess);
  }
  const [command, ...args] = endpoint.command;
  const t = await spawnServer(command, args, endpoint.spawn).catch((e: unknown) => { throw unreachable(`the server command ${command}`, e); });
  await t.started.catch((e: unknown) => { throw unreachable(`the server command ${command}`, e); });
  return t;
};

/** The HTTP endpoint `endpoint` names, if it names one. */
const httpTarget = (endpoint: Endpoint): { readonly url: string | URL; readonly http?: HttpConnectOptions } | undefined => {
  if (typeof endpoint === 'string') {
    const parsed = parseEndpoint(endpoint);
    return 'url' in parsed ? parsed : undefined;
  }
  return 'url' in endpoint ? endpoint : undefined;
};

/**
 * Open a connection to `endpoint`; close it with `conn.close()`. A byte
 * stream endpoint gives an `RpcConnection` (see `openTransport`), an HTTP
 * one an `HttpConnection` (see `httpConnect`).
 */
export function open(endpoint: HttpEndpoint): Promise<HttpConnection>;
export function open(endpoint: Exclude<ByteStreamEndpoint, string>): Promise<RpcConnection>;
export function open(endpoint: Endpoint): Promise<RpcConnection | HttpConnection>;
export async function open(endpoint: Endpoint): Promise<RpcConnection | HttpConnection> {
  const http = httpTarget(endpoint);
  if (http !== undefined) return httpConnect(http.url, http.http);
  const byteEndpoint = endpoint as ByteStreamEndpoint;
  const shmOptions = typeof byteEndpoint === 'string' || !('shm' in byteEndpoint) ? undefined : byteEndpoint.shm;
  if (shmOptions === undefined) return new RpcConnection(await openTransport(byteEndpoint));
  let segment: ReturnType<typeof createClientSegment>;
  try {
    segment = createClientSegment(shmOptions);
  } catch (e) {
    throw RpcClientError.local('TransportError', `cannot create the shared-memory segment: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return new RpcConnection(await openTransport(byteEndpoint), { shm: segment });
  } catch (e) {
    segment.close();
    throw e;
  }
}

/** A connection to `endpoint` held by the current Scope: closed when the Scope closes. */
export function connect(endpoint: HttpEndpoint): Effect.Effect<HttpConnection, RpcClientError, Scope.Scope>;
export function connect(endpoint: Exclude<ByteStreamEndpoint, string>): Effect.Effect<RpcConnection, RpcClientError, Scope.Scope>;
export function connect(endpoint: Endpoint): Effect.Effect<RpcConnection | HttpConnection, RpcClientError, Scope.Scope>;
export function connect(endpoint: Endpoint): Effect.Effect<RpcConnection | HttpConnection, RpcClientError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: () => open(endpoint),
      catch: (e) => (e instanceof RpcClientError ? e : unreachable(JSON.stringify(endpoint), e)),
    }),
    (conn) => Effect.promise(() => conn.close().catch(() => undefined)),
  );
}
