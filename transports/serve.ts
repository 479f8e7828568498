/**
 * Serving a service, the public way: `startServer` (a Promise), `serve` (an
 * Effect that holds the server in a Scope and drains it when the Scope
 * closes) and `serverLayer` (the same as a Layer providing `RpcServer`).
 * One options object says what to host, on how many worker threads, who
 * accepts, and where to listen: stdin/stdout, a unix socket, TCP, HTTP, or
 * `shm` (in-process clients over SharedArrayBuffer channels).
 */
import * as Context from 'effect/Context';
import * as Data from 'effect/Data';
import * as Effect from 'effect/Effect';
import * as Layer from 'effect/Layer';
import type * as Scope from 'effect/Scope';
import { RpcRuntime, type RuntimeOptions, workerCountOf } from '../runtime/rpc-runtime.js';
import type { ConnectionOutcome } from '../runtime/serve-connection.js';
import { reserveStdout } from '../runtime/stdout-reservation.js';
import type { ReaderLimits } from '../src/wire/stream-reader.js';
import type { Endpoint } from './connect.js';
import { serveStdio } from './pipe/stdio-main.js';
import type { SocketListener } from './socket/socket-listener.js';
import { DEFAULT_TCP_HOST, type TcpAddress } from './tcp/tcp-address.js';
// The socket servers and HTTP are loaded only by a server that serves them (a stdio server starts without them).
import type { HttpOptions } from './http/http-config.js';
import type { HttpServing, StickyDrainHandle } from './http/serve-http.js';
import { defaultAttacher } from './shm/segments.js';

/** Where a server listens. */
export type Listen =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host?: string; readonly port?: number }
  | { readonly kind: 'http'; readonly host?: string; readonly port?: number }
  /** In-process connections over SharedArrayBuffer channels: clients in this process's threads open `endpoint` (`{ inProcess }`). */
  | { readonly kind: 'shm'; readonly ringBytes?: number };

/** What `startServer`, `serve` and `serverLayer` take. */
export interface ServeOptions<E> extends RuntimeOptions<E> {
  /** Where to listen (stdio serves this process's stdin/stdout). */
  readonly listen: Listen;
  /** Byte caps for incoming IPC messages (default: 16 MiB per header, 256 MiB per body). */
  readonly limits?: ReaderLimits;
  /** Socket servers: refuse connections beyond this many open ones (default: unlimited). */
  readonly maxConnections?: number;
  /** HTTP servers: routes, tokens, caps, compression, CORS, authentication, engine. */
  readonly http?: HttpOptions;
}

/** A server that is serving. */
export interface RunningServer {
  /** The runtime: worker threads, drain handle, connection count. */
  readonly runtime: RpcRuntime;
  /** Where it listens, with the port a TCP server bound. */
  readonly address: { readonly kind: 'stdio' } | { readonly kind: 'shm' } | { readonly kind: 'unix'; readonly path: string } | ({ readonly kind: 'tcp' } & TcpAddress) | { readonly kind: 'http'; readonly url: string; readonly port: number };
  /** What a client passes to `open`/`connect` to reach it (undefined for stdio: spawn the program instead; `{ inProcess }` only works in this process). */
  readonly endpoint: Endpoint | undefined;
  /** The discovery line a server process prints: `UNIX:<path>`, `TCP:<host>:<port>`, `PORT:<port>` for HTTP, or empty for stdio and shm. */
  readonly discovery: string;
  /**
   * Settles once the server has stopped: after `drain()`/`shutdown()` (or a
   * signal), and for stdio once its input has ended and it has drained.
   * `error` names an abnormal end of a stdio connection (a framing error).
   */
  readonly stopped: Promise<ConnectionOutcome>;
  /** HTTP with sticky sessions on: the operator's drain switch (new opens refused, readiness 503; `shutdown()` releases every session). */
  readonly drainHandle?: StickyDrainHandle;
  /** Graceful stop: stop accepting, let running calls finish within the grace period, interrupt the rest. */
  drain(): Promise<void>;
  /** Immediate stop: interrupt every running call now. */
  shutdown(): Promise<void>;
}

/** Start serving; resolves once the server listens (every worker is READY and accepting). */
export const startServer = async <E>(options: ServeOptions<E>): Promise<RunningServer> => {
  const { listen } = options;
  // A stdio server's worker threads must print to stderr: their stdout follows process.stdout as it is when they start.
  if (listen.kind === 'stdio') reserveStdout();
  const httpModules = listen.kind === 'http'
    ? await Promise.all([import('./http/http-config.js'), import('./http/serve-http.js'), import('./http/http-worker-hook.js')])
    : undefined;
  // Sticky sessions live in the workers (in the main thread without any): a session limit is shared among them.
  const http = httpModules === undefined ? undefined : httpModules[0].settingsOf(options.http ?? {}, workerCountOf(options));
  const HTTP_TASKS = httpModules?.[2].HTTP_TASKS ?? '';
  // The main thread's dispatcher (workers: 0) accepts clients' shared-memory segments like the workers' do.
  const shm = listen.kind === 'http' ? false : defaultAttacher(options.shm) ?? false;
  const runtime = await RpcRuntime.start(listen.kind === 'stdio'
    ? { ...options, shm, workers: options.workers ?? 0 }
    : http === undefined ? { ...options, shm } : { ...options, shm, transports: { ...options.transports, [HTTP_TASKS]: http } });
  const control = {
    runtime,
    drain: async () => { await runtime.drain(); },
    shutdown: async () => { await runtime.shutdown(); },
  };
  if (listen.kind === 'stdio') {
    // The server stops once its one connection is over (stdin ended, or a drain stopped it).
    const stopped = serveStdio(runtime, options.limits).then(async (outcome) => { await runtime.drain(); return outcome; });
    return { ...control, address: { kind: 'stdio' }, endpoint: undefined, discovery: '', stopped };
  }
  if (listen.kind === 'shm') {
    const { serveShm } = await import('./shm/shm-server.js');
    const listener = serveShm(runtime, {
      ...(listen.ringBytes === undefined ? {} : { ringBytes: listen.ringBytes }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    const stopped = new Promise<ConnectionOutcome>((resolve) => runtime.onDrain(() => void runtime.drain().then(() => resolve({}))));
    return { ...control, address: { kind: 'shm' }, endpoint: { inProcess: listener }, discovery: '', stopped };
  }
  if (listen.kind === 'http') {
    let serving: HttpServing;
    try {
      const primary = options.services.find((s) => !s.name.startsWith('vgi_rpc.'))?.name ?? options.services[0]?.name ?? '';
      serving = await httpModules![1].serveHttp(runtime, listen.host ?? DEFAULT_TCP_HOST, listen.port ?? 0, options.http ?? {}, http!, primary);
    } catch (e) {
      await runtime.shutdown();
      throw e;
    }
    const stopped = new Promise<ConnectionOutcome>((resolve) => runtime.onDrain(() => void runtime.drain().then(() => resolve({}))));
    const port = serving.listener.port;
    return {
      ...control, address: { kind: 'http', url: serving.url, port }, endpoint: { url: serving.url }, discovery: `PORT:${port}`, stopped,
      ...(serving.drainHandle === undefined ? {} : { drainHandle: serving.drainHandle }),
    };
  }
  const socketOptions = {
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
  };
  let listener: SocketListener<string | TcpAddress>;
  try {
    listener = listen.kind === 'unix'
      ? await (await import('./unix/unix-server.js')).serveUnix(runtime, listen.path, socketOptions)
      : await (await import('./tcp/tcp-server.js')).serveTcp(runtime, listen.host ?? DEFAULT_TCP_HOST, listen.port ?? 0, socketOptions);
  } catch (e) {
    await runtime.shutdown();
    throw e;
  }
  // A socket server stops when its drain (started by drain(), shutdown() or a signal) is done.
  const stopped = new Promise<ConnectionOutcome>((resolve) => runtime.onDrain(() => void runtime.drain().then(() => resolve({}))));
  const address = listen.kind === 'unix'
    ? { kind: 'unix' as const, path: listen.path }
    : { kind: 'tcp' as const, ...(listener.address as TcpAddress) };
  const endpoint = address.kind === 'unix' ? { unix: address.path } : { tcp: { host: address.host, port: address.port } };
  return { ...control, address, endpoint, discovery: listener.discovery, stopped };
};

/** A server failed to start (a worker module that does not load, a unix path owned by a live server, a TCP port in use). */
export class ServeError extends Data.TaggedError('ServeError')<{
  readonly message: string;
  readonly cause: unknown;
}> {}

/**
 * Serve in the current Scope: the server starts when the Effect runs and
 * drains gracefully (within its grace period) when the Scope closes.
 */
export const serve = <E>(options: ServeOptions<E>): Effect.Effect<RunningServer, ServeError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startServer(options),
      catch: (cause) => new ServeError({ message: `cannot start the server: ${cause instanceof Error ? cause.message : String(cause)}`, cause }),
    }),
    (server) => Effect.promise(() => server.drain()),
  );

/** The running server, as a service of the Effect context. */
export class RpcServer extends Context.Tag('vgi-rpc/RpcServer')<RpcServer, RunningServer>() {}

/** A Layer providing `RpcServer`: built with the Layer, drained when it is released. */
export const serverLayer = <E>(options: ServeOptions<E>): Layer.Layer<RpcServer, ServeError> => Layer.scoped(RpcServer, serve(options));
