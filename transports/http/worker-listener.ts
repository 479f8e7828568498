/**
 * A worker's own HTTP listener (`listeners: 'workers'`): the worker runs
 * uWebSockets.js on the server's port, shared with the other workers
 * (SO_REUSEPORT: the kernel spreads connections among them), with the whole
 * front end, and answers RPC routes with its own HttpApp, with no hop
 * through the main thread.
 *
 * A stream continuation or a sticky session's request that reaches a worker
 * that does not hold its live state goes to the one that does: the worker
 * that sealed a token wrote its thread id into the token's nonce (see
 * route-hint.ts), and the request travels there over a worker-to-worker
 * link (a MessagePort the main thread brokers; the other worker answers it
 * as it answers the main thread's forwarder, see http-worker.ts). A hint
 * that names this worker, a worker that has exited or none is answered
 * here: a stream then resumes cold from its cursor when its method declares
 * its state, else answers the typed error; a session answers SessionLostError.
 * Keep-alive connections stay with the worker that accepted them, so most
 * continuations are answered where they arrive.
 *
 * uWS must be closed before the thread's loop closes (else Node aborts the
 * whole process): the listener is closed on a drain ('unlisten'), and at
 * once on the thread's exit (a crash), after answering the requests still
 * waiting with WorkerCrashedError.
 */
import { type MessagePort, threadId } from 'node:worker_threads';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import { pageModel, pageReply, renderPages } from '../../src/http/pages.js';
import { RpcError, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import type { HttpReply } from './engine.js';
import type { AbortHook } from './engine-request.js';
import { frontEnd } from './front-end.js';
import { type FrontEndSettings, pageHttpReply, responseStamps } from './front-end-settings.js';
import { ARROW_CONTENT_TYPE, type HttpApp, type RpcRequest } from './http-app.js';
import { type HttpSettings, httpCodecs } from './http-config.js';
import { hintedThread } from './route-hint.js';
import { type UwsListener, listenUws } from './uws-engine.js';
import { WorkerLinks, continuationOf } from './worker-forwarder.js';
import type { Authenticate } from './unauthorized.js';

/** Bodies are never read past this without a configured cap (a request over it answers 413). */
export const DEFAULT_BODY_CAP = 256 * 1024 * 1024;

/** What the main thread tells a listening worker on its control port. */
export type ControlToWorker =
  /** The workers alive now (their thread ids). */
  | { readonly op: 'workers'; readonly live: readonly number[] }
  /** Worker `threadId` exited: its link fails (what it had not answered gets WorkerCrashedError). */
  | { readonly op: 'exited'; readonly threadId: number }
  /** Opening the link to `threadId` failed. */
  | { readonly op: 'linkFailed'; readonly threadId: number; readonly error: string }
  /** The test drain switch `id` has been set on every worker. */
  | { readonly op: 'testDrained'; readonly id: number }
  /** The process is exiting now (the main thread waits): stop listening at once, then count this worker in `exitAck`. */
  | { readonly op: 'exitNow' };

/** What a listening worker asks of the main thread on its control port. */
export type ControlToMain =
  /** Hand `port` to worker `threadId` as a link from this worker. */
  | { readonly op: 'link'; readonly threadId: number; readonly port: MessagePort }
  /** Set the test drain switch on every worker (`on`: refuse new sticky sessions). */
  | { readonly op: 'testDrain'; readonly id: number; readonly on: boolean };

/** The listen order: where, the front end's settings, the control port and the shared in-flight counter. */
export interface ListenOrder {
  readonly host: string;
  readonly port: number;
  readonly front: FrontEndSettings;
  readonly control: MessagePort;
  readonly live: readonly number[];
  /** One Int32 cell counting the requests in flight on every worker's listener. */
  readonly inFlight: SharedArrayBuffer;
  /** One Int32 cell counting the workers that stopped listening for a process exit (see ControlToWorker `exitNow`). */
  readonly exitAck: SharedArrayBuffer;
}

/** One worker's listener: started by a listen order, stopped by a drain or the thread's exit. */
export class WorkerListener {
  private listener: UwsListener | undefined;
  private ready = true;
  private live = new Set<number>();
  private readonly testDrains = new Map<number, () => void>();
  private nextTestDrain = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly app: HttpApp,
    private readonly settings: HttpSettings,
    /** The worker module's hook (`workerEntry(..., { authenticate })`). */
    private readonly authenticate?: Authenticate,
  ) {}

  /** Readiness: false once a drain started (the probe answers 503). */
  setReady(on: boolean): void {
    this.ready = on;
  }

  /** Listen as `order` says; resolves with the port bound. */
  async listen(order: ListenOrder): Promise<number> {
    if (this.listener !== undefined) return this.listener.port;
    const { settings, app } = this;
    const control = order.control;
    this.live = new Set(order.live);
    // The main thread hands the other worker its end; it says only when that failed ('linkFailed'):
    // a link works from its first message on.
    const links = new WorkerLinks(order.front.serverId, (to, port) => {
      control.postMessage({ op: 'link', threadId: to, port } satisfies ControlToMain, [port]);
      return Promise.resolve();
    });
    control.on('message', (m: ControlToWorker) => {
      if (m.op === 'workers') this.live = new Set(m.live);
      else if (m.op === 'exited') {
        this.live.delete(m.threadId);
        links.exited(m.threadId);
      } else if (m.op === 'linkFailed') links.exited(m.threadId, false);
      else if (m.op === 'exitNow') this.closeForExit(order.exitAck);
      else this.testDrains.get(m.id)?.();
    });
    control.unref();
    const codecs = httpCodecs([]);
    const decode = (encoding: string, body: Uint8Array): Uint8Array => codecs.decode(encoding, body, settings.maxRequestBytes);
    const local = (request: RpcRequest, onAbort: AbortHook): Promise<HttpReply> =>
      app.answer(request, (f) => {
        onAbort(() => f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' }));
      });
    const forward = async (request: RpcRequest, onAbort: AbortHook): Promise<HttpReply> => {
      const { request: routed, token } = continuationOf(request, decode);
      const target = token === undefined ? undefined : this.owner(token);
      if (target === undefined) return local(routed, onAbort);
      // The body moves to the owner; a copy stays in case the owner dies before receiving it.
      const kept = routed.body === undefined ? routed : { ...routed, body: Uint8Array.prototype.slice.call(routed.body) };
      const answered = await links.request(target, routed, onAbort);
      if (!('crashed' in answered)) return answered.release(answered.reply);
      // The owner died before it received the request: its state is gone, so this worker answers
      // (a stream resumes from its cursor or says its state is lost; a session is lost).
      return answered.received ? answered.crashed : local(kept, onAbort);
    };
    const stamps = responseStamps(settings, order.front);
    let pages: ReturnType<typeof renderPages> | undefined;
    const front = order.front;
    const handler = frontEnd({
      prefix: settings.prefix,
      serverId: front.serverId,
      protocol: front.protocol,
      stamps,
      sticky: settings.sticky !== undefined,
      readiness: { path: front.readinessPath, ready: () => this.ready },
      ...(this.authenticate === undefined ? {} : { authenticate: this.authenticate }),
      ...(front.testDrain ? {
        testDrain: (on: boolean) => new Promise<void>((resolve) => {
          const id = ++this.nextTestDrain;
          this.testDrains.set(id, () => {
            this.testDrains.delete(id);
            resolve();
          });
          control.postMessage({ op: 'testDrain', id, on } satisfies ControlToMain);
        }),
      } : {}),
      ...(front.pages ? {
        pages: (path: string) => {
          pages ??= renderPages(pageModel(this.dispatcher.hosting, { prefix: settings.prefix }));
          return pageHttpReply(pageReply(pages, path));
        },
      } : {}),
      forward,
    });
    const counter = new Int32Array(order.inFlight);
    const listener = await listenUws({
      host: order.host,
      port: order.port,
      sharedPort: true,
      maxBodyBytes: settings.maxRequestBytes ?? DEFAULT_BODY_CAP,
      handler: (req) => {
        Atomics.add(counter, 0, 1);
        const settle = (): void => { Atomics.sub(counter, 0, 1); };
        const r = handler(req);
        if (r instanceof Promise) return r.finally(settle);
        settle();
        return r;
      },
    });
    this.listener = listener;
    // A thread that exits (a crash) with uWS open would abort the process: answer what waits, then close.
    const farewell = crashedReply(front.serverId, [...stamps.capabilities]);
    process.once('exit', (code) => listener.closeNow(farewell(`the thread exited with code ${code}`)));
    return listener.port;
  }

  /** The live worker a token's hint names, unless that is this one (or none). */
  private owner(token: string): number | undefined {
    const hinted = hintedThread(token, this.settings.routeTag);
    if (hinted === undefined || hinted === (threadId & 0xffff)) return undefined;
    for (const t of this.live) if ((t & 0xffff) === hinted && t !== threadId) return t;
    return undefined;
  }

  /**
   * The process exits now: close the listening socket and every connection at once, then, once the loop
   * has turned (a closed uv handle is released by the next turn's close phase, and Node aborts a
   * worker whose loop still holds one), count this worker in `ack` and wake the main thread.
   */
  private closeForExit(ack: SharedArrayBuffer): void {
    this.listener?.closeNow();
    const cell = new Int32Array(ack);
    setImmediate(() => setImmediate(() => {
      Atomics.add(cell, 0, 1);
      Atomics.notify(cell, 0);
    }));
  }

  /** Stop listening: in-flight requests are answered, then the connections close (`now`: at once). */
  async unlisten(now: boolean): Promise<void> {
    const l = this.listener;
    if (l === undefined) return;
    if (now) l.closeNow();
    else await l.close();
  }
}

/** The WorkerCrashedError reply a dying worker leaves its waiting requests. */
const crashedReply = (serverId: string, capabilities: ReadonlyArray<readonly [string, string]>) => (detail: string): HttpReply => {
  const out: Uint8Array[] = [];
  writeErrorStream(out, emptySchema(), toWireError(RpcError.of('WorkerCrashedError', `the worker thread answering this request died: ${detail}`)), { serverId, requestId: '' });
  return { status: 200, headers: [['Content-Type', ARROW_CONTENT_TYPE], ['X-VGI-RPC-Error', 'true'], ...capabilities], body: out };
};
