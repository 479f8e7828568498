/**
 * The front end's hop to the workers: each HTTP request goes to one worker,
 * over the link (a MessagePort) the forwarder opens to each worker with one
 * pool task; the requests of one event-loop turn travel to a worker as one
 * message (see http-worker.ts). A stream's continuation goes to the worker
 * that holds its live state, found by the call token the client echoes (the
 * front end learns the owner from the /init reply, with no crypto and no
 * decoding of the body: the token is read from the batch's message header);
 * everything else goes to the least loaded worker. The body is moved to the
 * worker and the reply body moved back. An aborted request interrupts its
 * call in the worker; a worker that dies fails only what it owned (its
 * sticky sessions' later requests are answered SessionLostError here).
 */
import { Keys } from '../../src/wire/metadata-keys.js';
import { peekBatchMetadata } from '../../src/wire/metadata-peek.js';
import { RpcError, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { WorkerPool } from '../../runtime/worker-pool.js';
import type { HttpReply } from './engine.js';
import type { AbortHook } from './engine-request.js';
import { ARROW_CONTENT_TYPE, type RpcRequest } from './http-app.js';
import { inTimeSlices } from './time-slices.js';
import { sessionLost } from './request-session.js';
import { HTTP_TASKS, type HttpTaskPayload, type HttpTaskReply, LinkBatch, type LinkMessage, type LinkReply, RECYCLE_MIN_BYTES } from './http-worker.js';

interface Owner {
  readonly threadId: number;
  expiresAt: number;
}

/** An owned copy of `b` unless it already spans its whole buffer (a transfer detaches the buffer). */
const owned = (b: Uint8Array): Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer) ? b : Uint8Array.prototype.slice.call(b);

/** A request sent on a link and not answered yet. */
interface Pending {
  readonly resolve: (r: HttpTaskReply) => void;
  readonly reject: (e: Error) => void;
}

/** The link to one worker: its port, the batch being gathered for it, and the requests it has not answered. */
class Link {
  readonly out: LinkBatch<LinkMessage>;
  readonly pending = new Map<number, Pending>();

  constructor(readonly port: MessagePort) {
    this.out = new LinkBatch(port);
    port.on('message', (batch: readonly LinkReply[]) => {
      for (const r of batch) {
        const p = this.pending.get(r.id);
        if (p === undefined) continue;
        this.pending.delete(r.id);
        if ('reply' in r) p.resolve(r.reply);
        else p.reject(new Error(r.failed));
      }
    });
    // The link must not keep the process alive once the server has stopped.
    port.unref();
  }

  /** The worker exited: every request it had fails with `e`. */
  fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.port.close();
  }
}

/** Forwards HTTP requests to the pool's workers. */
export class WorkerForwarder {
  private readonly owners = new Map<string, Owner>();
  /** Sticky sessions' owners by token (learned from the opening reply; forgotten on close, expiry or worker exit). */
  private readonly sessionOwners = new Map<string, Owner>();
  /** Workers that exited (thread ids are never reused): the sessions they held are lost. */
  private readonly exited = new Set<number>();
  /** How many of `sessionOwners` each worker holds (a drain waits only for the live workers' sessions). */
  private readonly sessionsOf = new Map<number, number>();
  private readonly links = new Map<number, Link>();
  private readonly load = new Map<number, number>();
  private nextId = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private sweeping = false;

  /**
   * `ttlMs`: how long an idle stream's owner is remembered (the token TTL);
   * `decode` undoes a request's content coding, so a compressed
   * continuation's token can be read.
   */
  constructor(
    private readonly pool: WorkerPool,
    private readonly serverId: string,
    private readonly ttlMs: number,
    private readonly decode?: (encoding: string, body: Uint8Array) => Uint8Array,
  ) {
    pool.onWorkerExit((tid) => {
      // Its sessions stay known, marked lost by the exit, until their expiry: their requests are answered
      // SessionLostError here, never sent to a dead worker or to one that never held them.
      this.exited.add(tid);
      for (const [token, o] of this.owners) if (o.threadId === tid) this.owners.delete(token);
      this.load.delete(tid);
      const link = this.links.get(tid);
      this.links.delete(tid);
      link?.fail(new Error(`worker thread ${tid} exited`));
    });
  }

  /**
   * The link to worker `threadId`, opened on first use: one pool task hands
   * the worker its end (the pool waits for a worker still starting; what is
   * sent meanwhile waits in the port).
   */
  private linkTo(threadId: number): Link {
    let link = this.links.get(threadId);
    if (link === undefined) {
      const { port1, port2 } = new MessageChannel();
      link = new Link(port1);
      this.links.set(threadId, link);
      const opened = link;
      this.pool.runTask(threadId, { transport: HTTP_TASKS, payload: { op: 'link', threadId, port: port2 } satisfies HttpTaskPayload }, [port2]).catch((e: unknown) => {
        if (this.links.get(threadId) === opened) this.links.delete(threadId);
        opened.fail(e instanceof Error ? e : new Error(String(e)));
      });
    }
    return link;
  }

  /** Streams whose owner is known. */
  get trackedStreams(): number {
    return this.owners.size;
  }

  private leastLoaded(): number {
    let best: number | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const tid of this.pool.liveWorkers) {
      const l = this.load.get(tid) ?? 0;
      if (l < bestLoad) {
        best = tid;
        bestLoad = l;
      }
    }
    if (best === undefined) throw new Error('no worker is running');
    return best;
  }

  /** The owner of the stream a continuation names, if known (and the body to forward, decoded when it had to be). */
  private ownerOf(request: RpcRequest): { threadId: number | undefined; request: RpcRequest; lostWith?: number } {
    // A sticky session's requests go to the worker holding it; an unknown token goes anywhere (it answers SessionLostError).
    const session = request.headers.get('vgi-session')?.trim();
    if (session !== undefined && session !== '') {
      const owner = this.sessionOwners.get(session);
      if (owner !== undefined) {
        if (this.exited.has(owner.threadId)) return { threadId: undefined, request, lostWith: owner.threadId };
        return { threadId: owner.threadId, request };
      }
    }
    const body = request.body;
    if (body === undefined || !request.path.endsWith('/exchange')) return { threadId: undefined, request };
    const encoding = (request.headers.get('content-encoding') ?? '').trim().toLowerCase();
    let plain = request;
    if (encoding !== '' && encoding !== 'identity') {
      if (this.decode === undefined) return { threadId: undefined, request };
      try {
        const decoded = this.decode(encoding, body);
        const headers = new Map(request.headers);
        headers.delete('content-encoding');
        plain = { ...request, headers, body: decoded };
      } catch {
        // The worker reports the coding error in the contract's words.
        return { threadId: undefined, request };
      }
    }
    const token = peekBatchMetadata(plain.body!)?.get(Keys.callState);
    const owner = token === undefined ? undefined : this.owners.get(token);
    if (owner !== undefined) owner.expiresAt = Date.now() + this.ttlMs;
    return { threadId: owner?.threadId, request: plain };
  }

  /** Answer `request` on the worker that owns it. */
  async forward(request: RpcRequest, onAbort: AbortHook): Promise<HttpReply> {
    const routed = this.ownerOf(request);
    if (routed.lostWith !== undefined) {
      // A session DELETE's every failure is 200 with an empty body.
      if (request.method === 'DELETE') return { status: 200, headers: [], body: [] };
      return this.errorStream(sessionLost(`the worker thread holding the session (${routed.lostWith}) exited`), request.requestId);
    }
    const threadId = routed.threadId ?? this.leastLoaded();
    const id = ++this.nextId;
    const body = routed.request.body === undefined ? undefined : owned(routed.request.body);
    const link = this.linkTo(threadId);
    const abort = (): void => link.out.send({ op: 'abort', id });
    const unsubscribe = onAbort(abort);
    this.load.set(threadId, (this.load.get(threadId) ?? 0) + 1);
    let reply: HttpTaskReply;
    try {
      reply = await new Promise<HttpTaskReply>((resolve, reject) => {
        link.pending.set(id, { resolve, reject });
        link.out.send({ op: 'request', id, request: { ...routed.request, body } }, body?.buffer as ArrayBuffer | undefined);
      });
    } catch (e) {
      if (this.links.get(threadId) === link) throw e; // the worker answered with a failure: the front end reports it
      return this.crashed(e, request.requestId);
    } finally {
      unsubscribe();
      const l = (this.load.get(threadId) ?? 1) - 1;
      if (l > 0) this.load.set(threadId, l);
      else this.load.delete(threadId);
    }
    if (reply.owns !== undefined) {
      this.owners.set(reply.owns, { threadId, expiresAt: Date.now() + this.ttlMs });
      this.startSweeping();
    }
    if (reply.released !== undefined) this.owners.delete(reply.released);
    if (reply.sessionOwned !== undefined) {
      this.rememberSession(reply.sessionOwned.token, { threadId, expiresAt: reply.sessionOwned.expiresAt });
      this.startSweeping();
    }
    if (reply.sessionReleased !== undefined) this.forgetSession(reply.sessionReleased);
    const out = reply.body;
    if (out.byteLength < RECYCLE_MIN_BYTES) return { status: reply.status, headers: reply.headers, body: out.byteLength === 0 ? [] : [out] };
    // Once written, the buffer goes back to the worker that filled it (if it is still there) to be filled again.
    const buffer = out.buffer as ArrayBuffer;
    const onWritten = (): void => {
      if (this.links.get(threadId) === link && buffer.byteLength > 0) link.out.send({ op: 'recycle', buffer }, buffer);
    };
    return { status: reply.status, headers: reply.headers, body: [out], onWritten };
  }

  /** The reply to a request whose worker died while answering it. */
  private crashed(e: unknown, requestId: string): HttpReply {
    return this.errorStream(RpcError.of('WorkerCrashedError', `the worker thread answering this request died: ${e instanceof Error ? e.message : String(e)}`), requestId);
  }

  /** `error` as the front end answers it: 200 + `X-VGI-RPC-Error`, the EXCEPTION batch on the empty schema. */
  private errorStream(error: RpcError, requestId: string): HttpReply {
    const out: Uint8Array[] = [];
    writeErrorStream(out, emptySchema(), toWireError(error), { serverId: this.serverId, requestId });
    return { status: 200, headers: [['Content-Type', ARROW_CONTENT_TYPE], ['X-VGI-RPC-Error', 'true']], body: out };
  }

  /** Sticky sessions held by live workers (those of a worker that exited are lost, not open). */
  get trackedSessions(): number {
    let n = 0;
    for (const [tid, count] of this.sessionsOf) if (!this.exited.has(tid)) n += count;
    return n;
  }

  private rememberSession(token: string, owner: Owner): void {
    this.forgetSession(token);
    this.sessionOwners.set(token, owner);
    this.sessionsOf.set(owner.threadId, (this.sessionsOf.get(owner.threadId) ?? 0) + 1);
  }

  private forgetSession(token: string): void {
    const owner = this.sessionOwners.get(token);
    if (owner === undefined) return;
    this.sessionOwners.delete(token);
    const left = (this.sessionsOf.get(owner.threadId) ?? 1) - 1;
    if (left > 0) this.sessionsOf.set(owner.threadId, left);
    else this.sessionsOf.delete(owner.threadId);
  }

  private forgetAllSessions(): void {
    this.sessionOwners.clear();
    this.sessionsOf.clear();
  }

  /** Make every worker refuse new sticky sessions (`on`), or accept them again. */
  async setDraining(on: boolean): Promise<void> {
    await Promise.all(this.pool.liveWorkers.map((tid) =>
      this.pool.runTask(tid, { transport: HTTP_TASKS, payload: { op: 'draining', on } satisfies HttpTaskPayload }).catch(() => undefined)));
  }

  /** Tell every worker to release its sticky sessions now (the front end forgets their owners). */
  async closeSessions(): Promise<void> {
    this.forgetAllSessions();
    await Promise.all(this.pool.liveWorkers.map((tid) =>
      this.pool.runTask(tid, { transport: HTTP_TASKS, payload: { op: 'closeSessions' } satisfies HttpTaskPayload }).catch(() => undefined)));
  }

  /** Tell every worker to end its live streams (drain). */
  async closeStreams(detail: string): Promise<void> {
    this.owners.clear();
    this.forgetAllSessions();
    await Promise.all(this.pool.liveWorkers.map((tid) =>
      this.pool.runTask(tid, { transport: HTTP_TASKS, payload: { op: 'closeStreams', detail } satisfies HttpTaskPayload }).catch(() => undefined)));
  }

  private startSweeping(): void {
    if (this.sweeper !== undefined || !(this.ttlMs > 0 || this.sessionOwners.size > 0)) return;
    this.sweeper = setInterval(() => void this.sweep(), 1000);
    this.sweeper.unref();
  }

  /**
   * Forget expired owners, a millisecond slice at a time (100,000 sessions
   * expiring together must not hold the front end, which serves every
   * request, for the whole sweep); stop sweeping once nothing is tracked.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      await inTimeSlices(this.owners, ([token, o]) => {
        if (o.expiresAt <= now) this.owners.delete(token);
      });
      await inTimeSlices(this.sessionOwners, ([token, o]) => {
        if (o.expiresAt <= now) this.forgetSession(token);
      });
      if (this.owners.size === 0 && this.sessionOwners.size === 0 && this.sweeper !== undefined) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    } finally {
      this.sweeping = false;
    }
  }
}
