/**
 * The front end's hop to the workers: each HTTP request goes to one worker,
 * over the link (a MessagePort) the forwarder opens to each worker with one
 * pool task; the requests of one event-loop turn travel to a worker as one
 * message (see http-worker.ts). A stream's continuation goes to the worker
 * that holds its live state, and a sticky session's request to the worker
 * holding the session: the worker that sealed the cursor or session token
 * wrote its thread id into the token's nonce (route-hint.ts), read here
 * with no crypto and no decoding of the body (the cursor is read from the
 * batch's message header). A hint naming no live worker (a dead one,
 * another process's token) and everything else go to the least loaded
 * worker. The body is moved to the worker and the reply body moved back.
 * An aborted request interrupts its call in the worker; a worker that dies
 * fails only what it owned. Worker-to-worker links (listeners: 'workers')
 * use the same WorkerLinks.
 */
import { Keys } from '../../src/wire/metadata-keys.js';
import { peekBatchMetadata } from '../../src/wire/metadata-peek.js';
import { hintedThread } from './route-hint.js';
import { RpcError, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { WorkerPool } from '../../runtime/worker-pool.js';
import { type ChannelEnd, DEFAULT_RING_BYTES, type SabChannel, createSabChannel, openSide } from '../../runtime/sab-channel.js';
import type { RelayHop } from '../../runtime/sab-relay.js';
import { drainBatches, pumpBatches } from './link-ring.js';
import type { HttpReply } from './engine.js';
import type { AbortHook } from './engine-request.js';
import { ARROW_CONTENT_TYPE, type RpcRequest } from './http-app.js';
import { acceptsSessionOpen, sessionLost, sessionTokenOf } from './request-session.js';
import { HTTP_TASKS, type HttpTaskPayload, type HttpTaskReply, LinkBatch, type LinkMessage, type LinkReply, RECYCLE_MIN_BYTES } from './http-worker.js';

/** `error` as the front end answers it: 200 + `X-VGI-RPC-Error`, the EXCEPTION batch on the empty schema. */
const errorReply = (serverId: string, error: RpcError, requestId: string): HttpReply => {
  const out: Uint8Array[] = [];
  writeErrorStream(out, emptySchema(), toWireError(error), { serverId, requestId });
  return { status: 200, headers: [['Content-Type', ARROW_CONTENT_TYPE], ['X-VGI-RPC-Error', 'true']], body: out };
};

/**
 * An owned copy of `b` unless it already spans its whole buffer (a transfer detaches the buffer).
 * An empty body is never moved (an engine's shared empty body would be detached for every later
 * request), so it needs no copy either.
 */
const owned = (b: Uint8Array): Uint8Array =>
  b.byteLength === 0 || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)) ? b : Uint8Array.prototype.slice.call(b);

/** A request on a link whose worker exited without having received it (so nothing of it ran). */
export class NotReceivedError extends Error {
  override readonly name = 'NotReceivedError';
}

/** A request sent on a link and not answered yet. */
interface Pending {
  readonly resolve: (r: HttpTaskReply) => void;
  readonly reject: (e: Error) => void;
}

/** The link to one worker: its port, the batch being gathered for it, and the requests it has not answered. */
export class Link {
  readonly out: LinkBatch<LinkMessage>;
  /** The link's rings (the `sab` hop): this thread's side. */
  private readonly ring: ChannelEnd | undefined;
  readonly pending = new Map<number, Pending>();
  /** The requests the worker had received when its thread began to exit (undefined: it did not say). */
  private received: ReadonlySet<number> | undefined;
  /** The worker took its end of the link (it says so first): before that, nothing sent on it ran. */
  private linked = false;

  /** A link over `port`, and through the rings of `sab` too (this thread holds side `a`). */
  constructor(readonly port: MessagePort, sab?: SabChannel) {
    // The link must not keep the process alive once the server has stopped: neither its port nor its rings.
    this.ring = sab === undefined ? undefined : openSide(sab, 'a', { holdThread: false });
    this.out = new LinkBatch(port, this.ring?.writer);
    port.on('message', (batch: readonly LinkReply[]) => this.take(batch));
    if (this.ring !== undefined) void pumpBatches<LinkReply>(this.ring.reader, (batch) => this.take(batch));
    port.unref();
  }

  private take(batch: readonly LinkReply[]): void {
    for (const r of batch) {
      if ('dying' in r) {
        this.received = new Set(r.dying);
        continue;
      }
      if ('linked' in r) {
        this.linked = true;
        continue;
      }
      const p = this.pending.get(r.id);
      if (p === undefined) continue;
      this.pending.delete(r.id);
      if ('reply' in r) p.resolve(r.reply);
      else p.reject(new Error(r.failed));
    }
  }

  /**
   * The worker exited: every request it had fails with `e`, but those it
   * said it never received (its exit notice), or all when the link never
   * reached it (`opened` false, or it never said it took the link), fail
   * with NotReceivedError.
   */
  fail(e: Error, opened = true): void {
    // What the worker posted before it exited may still wait in the port (the exit notice comes on
    // another port, in no set order with this one): its replies and its list of received requests.
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) this.take(m.message as readonly LinkReply[]);
    if (this.ring !== undefined) {
      drainBatches<LinkReply>(this.ring.reader, (batch) => this.take(batch));
      this.ring.reader.close();
      this.ring.writer.abort();
    }
    const ran = (id: number): boolean => opened && this.linked && (this.received === undefined || this.received.has(id));
    for (const [id, p] of this.pending) p.reject(ran(id) ? e : new NotReceivedError(e.message));
    this.pending.clear();
    this.port.close();
  }
}

/**
 * Links to workers, each opened on first use, and the sending of one
 * request on them: used by the main thread's forwarder and by a worker that
 * hands a continuation to the worker holding its stream. `open` hands the
 * worker `threadId` its end of a new link (what is sent meanwhile waits in
 * the port); when it rejects, the requests on that link fail.
 */
export class WorkerLinks {
  private readonly links = new Map<number, Link>();
  private nextId = 0;

  /**
   * `ringBytes`: give each link two rings of this many data bytes (the
   * runtime's `hop: 'sab'`); `open` then hands the worker their channel too.
   */
  constructor(
    private readonly serverId: string,
    private readonly open: (threadId: number, port: MessagePort, sab?: SabChannel) => Promise<unknown>,
    private readonly ringBytes?: number,
  ) {}

  /** The link to worker `threadId`, opened on first use. */
  private linkTo(threadId: number): Link {
    let link = this.links.get(threadId);
    if (link === undefined) {
      const { port1, port2 } = new MessageChannel();
      const sab = this.ringBytes === undefined ? undefined : createSabChannel(this.ringBytes);
      link = new Link(port1, sab);
      this.links.set(threadId, link);
      const opened = link;
      this.open(threadId, port2, sab).catch((e: unknown) => {
        if (this.links.get(threadId) === opened) this.links.delete(threadId);
        opened.fail(e instanceof Error ? e : new Error(String(e)), false);
      });
    }
    return link;
  }

  /**
   * Worker `threadId` exited: what it had not answered fails (answered
   * WorkerCrashedError); `opened` false: the link never reached it, so none
   * of its requests ran.
   */
  exited(threadId: number, opened = true): void {
    const link = this.links.get(threadId);
    this.links.delete(threadId);
    link?.fail(new Error(`worker thread ${threadId} exited`), opened);
  }

  /**
   * Answer `request` on worker `threadId`: its task reply, or `crashed`
   * (the WorkerCrashedError reply) when the worker died before answering
   * (`received` false: it said, as it exited, that it had not received the
   * request, so nothing of it ran).
   * A worker's failure to answer rejects.
   */
  async request(threadId: number, request: RpcRequest, onAbort: AbortHook): Promise<{ reply: HttpTaskReply; release: (r: HttpTaskReply) => HttpReply } | { crashed: HttpReply; received: boolean }> {
    const id = ++this.nextId;
    const body = request.body === undefined ? undefined : owned(request.body);
    const link = this.linkTo(threadId);
    const unsubscribe = onAbort(() => link.out.send({ op: 'abort', id }));
    try {
      const reply = await new Promise<HttpTaskReply>((resolve, reject) => {
        link.pending.set(id, { resolve, reject });
        link.out.send({ op: 'request', id, request: { ...request, body } }, body === undefined || body.byteLength === 0 ? undefined : body.buffer as ArrayBuffer);
      });
      return { reply, release: (r) => this.released(threadId, link, r) };
    } catch (e) {
      if (this.links.get(threadId) === link) throw e; // the worker answered with a failure: the front end reports it
      return { crashed: this.crashed(e, request.requestId), received: !(e instanceof NotReceivedError) };
    } finally {
      unsubscribe();
    }
  }

  /** A task reply as the engine's reply; a large body's buffer goes back to the worker that filled it once written. */
  private released(threadId: number, link: Link, reply: HttpTaskReply): HttpReply {
    const out = reply.body;
    if (out.byteLength < RECYCLE_MIN_BYTES) return { status: reply.status, headers: reply.headers, body: out.byteLength === 0 ? [] : [out] };
    const buffer = out.buffer as ArrayBuffer;
    const onWritten = (): void => {
      if (this.links.get(threadId) === link && buffer.byteLength > 0) link.out.send({ op: 'recycle', buffer }, buffer);
    };
    return { status: reply.status, headers: reply.headers, body: [out], onWritten };
  }

  /** The reply to a request whose worker died while answering it. */
  private crashed(e: unknown, requestId: string): HttpReply {
    return errorReply(this.serverId, RpcError.of('WorkerCrashedError', `the worker thread answering this request died: ${e instanceof Error ? e.message : String(e)}`), requestId);
  }
}

/**
 * A continuation's request with its body's content coding undone (`decode`),
 * so its tokens can be read from the batch metadata, and the cursor token;
 * the request as it was when its coding cannot be undone here (the worker
 * reports that in the contract's words).
 */
export const exchangeTokens = (request: RpcRequest, decode: ((encoding: string, body: Uint8Array) => Uint8Array) | undefined): { request: RpcRequest; meta: ReadonlyMap<string, string> | undefined } => {
  const body = request.body;
  if (body === undefined || !request.path.endsWith('/exchange')) return { request, meta: undefined };
  const encoding = (request.headers.get('content-encoding') ?? '').trim().toLowerCase();
  let plain = request;
  if (encoding !== '' && encoding !== 'identity') {
    if (decode === undefined) return { request, meta: undefined };
    try {
      const decoded = decode(encoding, body);
      const headers = new Map(request.headers);
      headers.delete('content-encoding');
      plain = { ...request, headers, body: decoded };
    } catch {
      return { request, meta: undefined };
    }
  }
  return { request: plain, meta: peekBatchMetadata(plain.body!) };
};

/**
 * What a request continues, for routing: the token whose route hint names
 * the worker holding its state (the sticky session's, else the exchange
 * cursor's), and the request to pass on (its body decoded when it had to be
 * read). Both the main-thread forwarder and a listening worker route by it.
 */
export const continuationOf = (
  request: RpcRequest,
  decode: ((encoding: string, body: Uint8Array) => Uint8Array) | undefined,
): { request: RpcRequest; token?: string; session: boolean } => {
  const session = sessionTokenOf(request.headers);
  if (session !== undefined) return { request, token: session, session: true };
  const { request: plain, meta } = exchangeTokens(request, decode);
  const cursor = meta?.get(Keys.streamState);
  return cursor === undefined ? { request: plain, session: false } : { request: plain, token: cursor, session: false };
};

/** Whether `request` may open a sticky session: it sends `VGI-Session-Accept: true` and no session token. */
const mayOpenSession = (request: RpcRequest): boolean => acceptsSessionOpen(request.headers) && sessionTokenOf(request.headers) === undefined;

/** Run one HTTP control task on every live worker; a worker that fails (or exits) answers undefined. */
export const everyWorker = (pool: WorkerPool, payload: HttpTaskPayload): Promise<unknown[]> =>
  Promise.all(pool.liveWorkers.map((tid) => pool.runTask(tid, { transport: HTTP_TASKS, payload }).catch(() => undefined)));

/** Sticky sessions held by all live workers. */
export const liveSessions = async (pool: WorkerPool): Promise<number> =>
  (await everyWorker(pool, { op: 'liveSessions' })).reduce<number>((n, c) => n + (typeof c === 'number' ? c : 0), 0);

/** Forwards HTTP requests to the pool's workers. */
export class WorkerForwarder {
  private readonly links: WorkerLinks;
  private readonly load = new Map<number, number>();
  /** Where the next tie-break among equally loaded workers starts (see leastLoaded). */
  private turn = 0;

  /**
   * `routeTag`: the process's route tag the workers seal into their tokens'
   * nonces; `decode` undoes a request's content coding, so a compressed
   * continuation's token can be read; `hop`: the runtime's hop (`sab`
   * gives each link rings of `ringBytes` per direction, see link-ring.ts).
   */
  constructor(
    private readonly pool: WorkerPool,
    private readonly serverId: string,
    private readonly routeTag: number,
    private readonly decode?: (encoding: string, body: Uint8Array) => Uint8Array,
    hop: { readonly kind: RelayHop; readonly ringBytes?: number } = { kind: 'port' },
  ) {
    // One pool task hands a worker its end of the link (the pool waits for a worker still starting).
    this.links = new WorkerLinks(serverId, (threadId, port, sab) =>
      pool.runTask(threadId, { transport: HTTP_TASKS, payload: { op: 'link', threadId, port, ...(sab === undefined ? {} : { sab }) } satisfies HttpTaskPayload }, [port]),
    hop.kind === 'sab' ? hop.ringBytes ?? DEFAULT_RING_BYTES : undefined);
    pool.onWorkerExit((tid) => {
      this.load.delete(tid);
      this.links.exited(tid);
    });
  }

  /**
   * The worker with the fewest requests in flight; among equally loaded ones (every worker idle, at low
   * concurrency) the first, or with `takeTurns` the next in turn.
   */
  private leastLoaded(takeTurns: boolean): number {
    let best: number | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    const live = this.pool.liveWorkers;
    const start = takeTurns ? this.turn++ % Math.max(1, live.length) : 0;
    for (let i = 0; i < live.length; i++) {
      const tid = live[(start + i) % live.length]!;
      const l = this.load.get(tid) ?? 0;
      if (l < bestLoad) {
        best = tid;
        bestLoad = l;
      }
    }
    if (best === undefined) throw new Error('no worker is running');
    return best;
  }

  /**
   * The worker a token's route hint names: live (its thread id), gone (`gone`:
   * a thread of this process that exited, as ids are never reused), or none
   * (no hint, or another process's).
   */
  private hinted(token: string): { threadId?: number; gone?: number } {
    const h = hintedThread(token, this.routeTag);
    if (h === undefined) return {};
    for (const tid of this.pool.liveWorkers) if ((tid & 0xffff) === h) return { threadId: tid };
    return { gone: h };
  }

  /** The worker holding what a request continues, if it names a live one (and the body to forward, decoded when it had to be). */
  private ownerOf(request: RpcRequest): { threadId: number | undefined; request: RpcRequest; lostWith?: number } {
    // A sticky session's requests go to the worker holding it; a session of a worker that exited is lost
    // (answered here: neither a dead worker nor its replacement holds it); an unknown token goes anywhere
    // (that worker answers SessionLostError, or resumes a stream from its cursor).
    const c = continuationOf(request, this.decode);
    if (c.token === undefined) return { threadId: undefined, request: c.request };
    const { threadId, gone } = this.hinted(c.token);
    return c.session && gone !== undefined ? { threadId: undefined, request: c.request, lostWith: gone } : { threadId, request: c.request };
  }

  /** Answer `request` on the worker that owns it. */
  async forward(request: RpcRequest, onAbort: AbortHook): Promise<HttpReply> {
    const routed = this.ownerOf(request);
    if (routed.lostWith !== undefined) {
      // A session DELETE's every failure is 200 with an empty body.
      if (request.method === 'DELETE') return { status: 200, headers: [], body: [] };
      return errorReply(this.serverId, sessionLost(`the worker thread holding the session (${routed.lostWith}) exited`), request.requestId);
    }
    // A request that may open a session (it accepts one and names none) takes turns among equally loaded
    // workers, so sessions opened one after another spread over them; any other goes to the first of them.
    const threadId = routed.threadId ?? this.leastLoaded(mayOpenSession(request));
    this.load.set(threadId, (this.load.get(threadId) ?? 0) + 1);
    let answered: Awaited<ReturnType<WorkerLinks['request']>>;
    try {
      answered = await this.links.request(threadId, routed.request, onAbort);
    } finally {
      const l = (this.load.get(threadId) ?? 1) - 1;
      if (l > 0) this.load.set(threadId, l);
      else this.load.delete(threadId);
    }
    return 'crashed' in answered ? answered.crashed : answered.release(answered.reply);
  }

  /** Sticky sessions the workers hold. */
  openSessions(): Promise<number> {
    return liveSessions(this.pool);
  }

  /** Make every worker refuse new sticky sessions (`on`), or accept them again. */
  async setDraining(on: boolean): Promise<void> {
    await everyWorker(this.pool, { op: 'draining', on });
  }

  /** Tell every worker to release its sticky sessions now. */
  async closeSessions(): Promise<void> {
    await everyWorker(this.pool, { op: 'closeSessions' });
  }

  /** Tell every worker to end its live streams (drain). */
  async closeStreams(detail: string): Promise<void> {
    await everyWorker(this.pool, { op: 'closeStreams', detail });
  }
}
