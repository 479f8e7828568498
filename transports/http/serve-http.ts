/**
 * Serving HTTP on a runtime: the engine and the front end on the main
 * thread; the RPC routes answered by the main thread's own HttpApp when
 * there is no pool, else by the worker that owns each call (the
 * WorkerForwarder). A drain stops the listener, lets requests in flight
 * finish and ends the live streams.
 */
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { type PageModel, pageModel, pageReply, renderPages } from '../../src/http/pages.js';
import { type CapabilityConfig, capabilityHeaders } from '../../src/http/capability-headers.js';
import { corsHeaders, corsPolicy } from '../../src/http/cors-headers.js';
import type { HttpListener, HttpReply } from './engine.js';
import type { AbortHook } from './engine-request.js';
import { listenHttp } from './listen-http.js';
import { frontEnd, type ResponseStamps } from './front-end.js';
import { HttpApp, type RpcRequest } from './http-app.js';
import { type HttpOptions, type HttpSettings, appOptionsOf, httpCodecs } from './http-config.js';
import { HTTP_TASKS, type HttpTaskPayload } from './http-worker.js';
import { WorkerForwarder } from './worker-forwarder.js';

/** Where the readiness probe answers unless `readinessPath` says otherwise. */
const DEFAULT_READINESS_PATH = '/readyz';

/** Bodies are never read past this without a configured cap (a request over it answers 413). */
const DEFAULT_BODY_CAP = 256 * 1024 * 1024;

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

const toText = (r: { status: number; headers: ReadonlyArray<readonly [string, string]>; body: string }): HttpReply =>
  ({ status: r.status, headers: r.headers, body: [new TextEncoder().encode(r.body)] });

/** Serve HTTP for `runtime` on host:port. */
export const serveHttp = async (runtime: RpcRuntime, host: string, port: number, options: HttpOptions, settings: HttpSettings, primaryProtocol: string): Promise<HttpServing> => {
  const local = runtime.localDispatcher;
  let forward: (request: RpcRequest, onAbort: AbortHook) => Promise<HttpReply>;
  let closeStreams: (detail: string) => Promise<void>;
  let setDraining: (on: boolean) => Promise<void>;
  let closeSessions: () => Promise<void>;
  let openSessions: () => number;
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
    openSessions = () => app.liveSessions;
    closeSessions = () => app.closeSessions();
    const m = pageModel(local.hosting, { prefix: settings.prefix });
    model = () => Promise.resolve(m);
  } else {
    const pool = runtime.workerPool!;
    const codecs = httpCodecs([]);
    const forwarder = new WorkerForwarder(pool, runtime.serverId, settings.tokenTtlSeconds * 1000, (encoding, body) => codecs.decode(encoding, body, settings.maxRequestBytes));
    forward = (request, onAbort) => forwarder.forward(request, onAbort);
    closeStreams = (detail) => forwarder.closeStreams(detail);
    setDraining = (on) => forwarder.setDraining(on);
    openSessions = () => forwarder.trackedSessions;
    closeSessions = () => forwarder.closeSessions();
    let cached: Promise<PageModel> | undefined;
    model = () => (cached ??= pool.runTask(pool.liveWorkers[0]!, { transport: HTTP_TASKS, payload: { op: 'pageModel' } satisfies HttpTaskPayload }) as Promise<PageModel>);
  }
  let pages: { model: PageModel; rendered: ReturnType<typeof renderPages> } | undefined;
  const capabilityConfig: CapabilityConfig = {
    supportedEncodings: settings.responseCodecs,
    externalizationEnabled: false,
    ...(settings.maxRequestBytes === undefined ? {} : { maxRequestBytes: settings.maxRequestBytes }),
    ...(settings.maxResponseBytes === undefined ? {} : { maxResponseBytes: settings.maxResponseBytes }),
    ...(options.maxExternalizedResponseBytes === undefined ? {} : { maxExternalizedResponseBytes: options.maxExternalizedResponseBytes }),
    ...(settings.sticky === undefined ? {} : {
      sticky: { defaultTtlSeconds: settings.sticky.defaultTtlSeconds, echoHeaders: settings.sticky.echoHeaders.map(([name]) => name) },
    }),
  };
  const cors = options.cors === undefined ? undefined : corsPolicy({
    origins: options.cors.origins === '*' ? '*' : options.cors.origins.split(',').map((o) => o.trim()),
    ...(options.cors.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.cors.maxAgeSeconds }),
  }, capabilityConfig);
  const stamps: ResponseStamps = {
    capabilities: capabilityHeaders(capabilityConfig),
    cors: (method, headers) => (cors === undefined ? [] : corsHeaders(cors, method, headers)),
  };
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
    readiness: { path: options.readinessPath ?? DEFAULT_READINESS_PATH, ready: () => ready },
    ...(options.testDrainEndpoint === true ? { testDrain: drainSwitch } : {}),
    ...(options.authenticate === undefined ? {} : { authenticate: options.authenticate }),
    ...(options.pages === false ? {} : {
      pages: async (path: string) => {
        if (pages === undefined) {
          const m = await model();
          pages = { model: m, rendered: renderPages(m) };
        }
        return toText(pageReply(pages.rendered, path));
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
  // A drain keeps serving while sticky sessions are open (new opens fail, readiness answers 503),
  // until they are all closed or expired, or the grace period ends (shutdown); then it stops listening.
  let graceOver: (() => void) | undefined;
  const sessionsEnded = (): Promise<void> => new Promise<void>((resolve) => {
    const check = (): void => {
      if (openSessions() === 0 || graceOver === undefined) {
        graceOver = undefined;
        resolve();
      } else setTimeout(check, 100).unref();
    };
    graceOver = resolve;
    check();
  });
  runtime.participate({
    get connections() {
      return listener.inFlight;
    },
    drain: async () => {
      await drainSwitch(true);
      if (settings.sticky !== undefined) await sessionsEnded();
      await listener.close();
      await closeStreams('the server is draining');
    },
    shutdown: (detail) => {
      const over = graceOver;
      graceOver = undefined;
      over?.();
      void closeStreams(detail);
    },
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const drainHandle: StickyDrainHandle | undefined = settings.sticky === undefined ? undefined : {
    drain: () => drainSwitch(true),
    shutdown: () => closeSessions(),
    isDraining: () => !ready,
  };
  return { listener, url: `http://${shownHost}:${listener.port}${settings.prefix}`, ...(drainHandle === undefined ? {} : { drainHandle }) };
};
