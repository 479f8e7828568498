/**
 * Serving HTTP on a runtime: the engine and the front end on the main
 * thread; the RPC routes answered by the main thread's own HttpApp when
 * there is no pool, else by the worker that owns each call (the
 * WorkerForwarder). Or, with `listeners: 'workers'`, every worker listens
 * on the port itself with the whole front end (shared-port.ts). A drain
 * stops the listener, lets requests in flight finish and ends the live
 * streams.
 */
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { type PageModel, pageModel, pageReply, renderPages } from '../../src/http/pages.js';
import type { HttpListener, HttpReply } from './engine.js';
import type { AbortHook } from './engine-request.js';
import { listenHttp } from './listen-http.js';
import { frontEnd } from './front-end.js';
import { frontEndSettingsOf, pageHttpReply, responseStamps } from './front-end-settings.js';
import { HttpApp, type RpcRequest } from './http-app.js';
import { type HttpOptions, type HttpSettings, appOptionsOf, httpCodecs, listenersOf } from './http-config.js';
import { HTTP_TASKS, type HttpTaskPayload } from './http-worker.js';
import { WorkerForwarder, everyWorker } from './worker-forwarder.js';
import { DEFAULT_BODY_CAP } from './worker-listener.js';
import { type WorkerListeners, listenInWorkers } from './shared-port.js';
import type { FrontEndSettings } from './front-end-settings.js';
import type { WorkerPool } from '../../runtime/worker-pool.js';
import { uwsStatus } from './uws-engine.js';

/**
 * The operator's drain switch of a server with sticky sessions (the
 * reference's `drain_handle`), for hooks that drain on their own schedule
 * rather than through `drain()` or SIGTERM (an orchestrator's pre-stop
 * hook, a rolling deploy): `drain()` makes new opens fail with
 * `ServerDrainingError` and the readiness probe answer 503 while existing
 * sessions keep serving; `shutdown()` releases every session now (each
 * state exactly once; their tokens then answer `SessionLostError`), the
 * server itself going on. Both are idempotent.
 */
export interface StickyDrainHandle {
  drain(): Promise<void>;
  shutdown(): Promise<void>;
  isDraining(): boolean;
}

/** A listening HTTP server. */
export interface HttpServing {
  readonly listener: HttpListener;
  /** `http://host:port{prefix}`. */
  readonly url: string;
  /** Sticky sessions on: the drain handle. */
  readonly drainHandle?: StickyDrainHandle;
}

/** Serve HTTP for `runtime` on host:port. */
export const serveHttp = async (runtime: RpcRuntime, host: string, port: number, options: HttpOptions, settings: HttpSettings, primaryProtocol: string): Promise<HttpServing> => {
  const front = frontEndSettingsOf(options, runtime.serverId, primaryProtocol);
  const { listeners, explicit } = listenersOf(options);
  const pool = runtime.workerPool;
  // Each worker listens itself only with a pool and uWS (Node 20's worker threads cannot share a
  // node:http port); a hook given here cannot reach the workers.
  if (listeners === 'workers' && pool !== undefined && options.engine !== 'node' && uwsStatus().available) {
    if (options.authenticate === undefined && !runtime.heapLimited) return serveInWorkers(runtime, pool, host, port, settings, front);
    if (explicit && options.authenticate !== undefined) throw new TypeError("http.listeners 'workers' cannot use http.authenticate: it is a function of the main thread, and every worker answers requests itself there; give the hook to the worker module (workerEntry(services, layer, { authenticate })), or use listeners 'main' (the default)");
    // A worker killed by its heap limit runs no JS, so its uWS listener cannot be closed first, and Node aborts the process.
    if (explicit) throw new TypeError("http.listeners 'workers' cannot run under resourceLimits: a worker killed by its heap limit would take the whole process down with its listener; use listeners 'main' (the default)");
  }
  if (pool !== undefined) {
    // A worker module's hook runs only in a worker's own listener: here it would be skipped, and every request let in.
    const hooked = await everyWorker(pool, { op: 'authenticates' });
    if (hooked.some((h) => h === true)) {
      throw new TypeError("the worker module sets an authenticate hook (workerEntry(..., { authenticate })), which only a worker's own listener runs: serve with http.listeners 'workers' (--listen-in-workers), with uWebSockets.js, no http.authenticate and no resourceLimits");
    }
  }
  const local = runtime.localDispatcher;
  let forward: (request: RpcRequest, onAbort: AbortHook) => Promise<HttpReply>;
  let closeStreams: (detail: string) => Promise<void>;
  let setDraining: (on: boolean) => Promise<void>;
  let closeSessions: () => Promise<void>;
  let openSessions: () => Promise<number>;
  let model: () => Promise<PageModel>;
  if (local !== undefined) {
    const app = new HttpApp(local, appOptionsOf(settings));
    forward = (request, onAbort) => app.answer(request, (f) => {
      onAbort(() => f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' }));
    });
    closeStreams = (detail) => app.closeStreams({ _tag: 'shutdown', detail });
    setDraining = (on) => {
      app.setDraining(on);
      return Promise.resolve();
    };
    openSessions = () => Promise.resolve(app.liveSessions);
    closeSessions = () => app.closeSessions();
    const m = pageModel(local.hosting, { prefix: settings.prefix });
    model = () => Promise.resolve(m);
  } else {
    if (pool === undefined) throw new Error('HTTP needs a worker pool or the main thread\'s dispatcher');
    const codecs = httpCodecs([]);
    const forwarder = new WorkerForwarder(pool, runtime.serverId, settings.routeTag, (encoding, body) => codecs.decode(encoding, body, settings.maxRequestBytes), runtime.hop);
    forward = (request, onAbort) => forwarder.forward(request, onAbort);
    closeStreams = (detail) => forwarder.closeStreams(detail);
    setDraining = (on) => forwarder.setDraining(on);
    openSessions = () => forwarder.openSessions();
    closeSessions = () => forwarder.closeSessions();
    let cached: Promise<PageModel> | undefined;
    model = () => (cached ??= pool.runTask(pool.liveWorkers[0]!, { transport: HTTP_TASKS, payload: { op: 'pageModel' } satisfies HttpTaskPayload }) as Promise<PageModel>);
  }
  let pages: { model: PageModel; rendered: ReturnType<typeof renderPages> } | undefined;
  const stamps = responseStamps(settings, front);
  // Ready until a drain starts (or the test drain switch is on): the readiness probe then answers 503.
  let ready = true;
  const drainSwitch = async (on: boolean): Promise<void> => {
    ready = !on;
    await setDraining(on);
  };
  const handler = frontEnd({
    prefix: settings.prefix,
    serverId: runtime.serverId,
    protocol: primaryProtocol,
    stamps,
    sticky: settings.sticky !== undefined,
    readiness: { path: front.readinessPath, ready: () => ready },
    ...(options.testDrainEndpoint === true ? { testDrain: drainSwitch } : {}),
    ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate }),
    ...(options.pages === false ? {} : {
      pages: async (path: string) => {
        if (pages === undefined) {
          const m = await model();
          pages = { model: m, rendered: renderPages(m) };
        }
        return pageHttpReply(pageReply(pages.rendered, path));
      },
    }),
    forward,
  });
  const listener = await listenHttp({
    host,
    port,
    maxBodyBytes: settings.maxRequestBytes ?? DEFAULT_BODY_CAP,
    handler,
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
  return served(runtime, host, settings, {
    listener,
    setDraining: drainSwitch,
    isDraining: () => !ready,
    openSessions,
    closeSessions,
    closeStreams,
  });
};

const urlOf = (host: string, port: number, prefix: string): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}${prefix}`;

/**
 * A drain keeps serving while sticky sessions are open (new opens fail,
 * readiness answers 503), until they are all closed or expired, or the
 * grace period ends (`over`, called on shutdown); then it stops listening.
 */
const sessionGrace = (openSessions: () => Promise<number>): { sessionsEnded(): Promise<void>; over(): void } => {
  let graceOver: (() => void) | undefined;
  return {
    sessionsEnded: () => new Promise<void>((resolve) => {
      const check = (): void => {
        void openSessions().then((n) => {
          if (n === 0 || graceOver === undefined) {
            graceOver = undefined;
            resolve();
          } else setTimeout(check, 100).unref();
        });
      };
      graceOver = resolve;
      check();
    }),
    over: () => {
      const over = graceOver;
      graceOver = undefined;
      over?.();
    },
  };
};

/** Serve with every worker listening on the port itself (`listeners: 'workers'`, see shared-port.ts). */
const serveInWorkers = async (runtime: RpcRuntime, pool: WorkerPool, host: string, port: number, settings: HttpSettings, front: FrontEndSettings): Promise<HttpServing> => {
  const closeStreams = async (detail: string): Promise<void> => {
    await everyWorker(pool, { op: 'closeStreams', detail });
  };
  let listeners: WorkerListeners | undefined;
  const drainSwitch = async (on: boolean): Promise<void> => { await listeners?.setDraining(on); };
  listeners = await listenInWorkers(pool, host, port, front, drainSwitch);
  const listener = listeners;
  return served(runtime, host, settings, {
    listener,
    setDraining: (on) => listener.setDraining(on),
    isDraining: () => listener.draining,
    openSessions: () => listener.openSessions(),
    closeSessions: () => listener.closeSessions(),
    closeStreams,
    halt: () => listener.closeNow(),
  });
};

/** What a listening HTTP server controls, however it listens. */
interface ServingControls {
  readonly listener: HttpListener;
  /** Refuse new sticky sessions and answer readiness 503 (`on`), or undo it. */
  setDraining(on: boolean): Promise<void>;
  isDraining(): boolean;
  /** Sticky sessions held now. */
  openSessions(): Promise<number>;
  /** Release every sticky session now. */
  closeSessions(): Promise<void>;
  /** End every live stream. */
  closeStreams(detail: string): Promise<void>;
  /** Stop listening at once (see DrainParticipant.halt). */
  halt?(): Promise<void>;
}

/**
 * Join the runtime's drain with `controls` (a drain refuses new sessions,
 * waits for the open ones within the grace period, stops listening and
 * ends the live streams) and give the server's URL and, with sticky
 * sessions, its drain handle.
 */
const served = (runtime: RpcRuntime, host: string, settings: HttpSettings, controls: ServingControls): HttpServing => {
  const { listener } = controls;
  const grace = sessionGrace(() => controls.openSessions());
  runtime.participate({
    get connections() {
      return listener.inFlight;
    },
    drain: async () => {
      await controls.setDraining(true);
      if (settings.sticky !== undefined) await grace.sessionsEnded();
      await listener.close();
      await controls.closeStreams('the server is draining');
    },
    shutdown: (detail) => {
      grace.over();
      void controls.closeStreams(detail);
    },
    ...(controls.halt === undefined ? {} : { halt: controls.halt }),
  });
  const drainHandle: StickyDrainHandle | undefined = settings.sticky === undefined ? undefined : {
    drain: () => controls.setDraining(true),
    shutdown: () => controls.closeSessions(),
    isDraining: () => controls.isDraining(),
  };
  return { listener, url: urlOf(host, listener.port, settings.prefix), ...(drainHandle === undefined ? {} : { drainHandle }) };
};
