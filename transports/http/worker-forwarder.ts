/**
 * The front end's hop to the workers: each HTTP request becomes a task
 * addressed to one worker. A stream's continuation goes to the worker that
 * holds its live state, found by the call token the client echoes (the
 * front end learns the owner from the /init reply, with no crypto and no
 * decoding of the body: the token is read from the batch's message header);
 * everything else goes to the least loaded worker. The body is moved to the
 * worker and the reply body moved back. An aborted request interrupts its
 * call in the worker; a worker that dies fails only what it owned.
 */
import { Keys } from '../../src/wire/metadata-keys.js';
import { peekBatchMetadata } from '../../src/wire/metadata-peek.js';
import { RpcError, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import type { WorkerPool } from '../../runtime/worker-pool.js';
import type { HttpReply } from './engine.js';
import { ARROW_CONTENT_TYPE, type RpcRequest } from './http-app.js';
import { HTTP_TASKS, type HttpTaskPayload, type HttpTaskReply } from './http-worker.js';

interface Owner {
  readonly threadId: number;
  expiresAt: number;
}

/** An owned copy of `b` unless it already spans its whole buffer (a transfer detaches the buffer). */
const owned = (b: Uint8Array): Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer) ? b : Uint8Array.prototype.slice.call(b);

/** Forwards HTTP requests to the pool's workers. */
export class WorkerForwarder {
  private readonly owners = new Map<string, Owner>();
  private readonly load = new Map<number, number>();
  private nextId = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;

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
      for (const [token, o] of this.owners) if (o.threadId === tid) this.owners.delete(token);
      this.load.delete(tid);
    });
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
  private ownerOf(request: RpcRequest): { threadId: number | undefined; request: RpcRequest } {
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
  async forward(request: RpcRequest, aborted: AbortSignal): Promise<HttpReply> {
    const routed = this.ownerOf(request);
    const threadId = routed.threadId ?? this.leastLoaded();
    const id = ++this.nextId;
    const body = routed.request.body === undefined ? undefined : owned(routed.request.body);
    const payload: HttpTaskPayload = { op: 'request', id, request: { ...routed.request, body } };
    const onAbort = (): void => {
      void this.pool.runTask(threadId, { transport: HTTP_TASKS, payload: { op: 'abort', id } satisfies HttpTaskPayload }).catch(() => undefined);
    };
    aborted.addEventListener('abort', onAbort, { once: true });
    this.load.set(threadId, (this.load.get(threadId) ?? 0) + 1);
    let reply: HttpTaskReply;
    try {
      reply = await this.pool.runTask(threadId, { transport: HTTP_TASKS, payload }, body === undefined ? [] : [body.buffer as ArrayBuffer]) as HttpTaskReply;
    } catch (e) {
      return this.crashed(e, request.requestId);
    } finally {
      aborted.removeEventListener('abort', onAbort);
      const l = (this.load.get(threadId) ?? 1) - 1;
      if (l > 0) this.load.set(threadId, l);
      else this.load.delete(threadId);
    }
    if (reply.owns !== undefined) {
      this.owners.set(reply.owns, { threadId, expiresAt: Date.now() + this.ttlMs });
      this.startSweeping();
    }
    if (reply.released !== undefined) this.owners.delete(reply.released);
    return { status: reply.status, headers: reply.headers, body: reply.body.byteLength === 0 ? [] : [reply.body] };
  }

  /** The reply to a request whose worker died while answering it. */
  private crashed(e: unknown, requestId: string): HttpReply {
    const out: Uint8Array[] = [];
    const error = RpcError.of('WorkerCrashedError', `the worker thread answering this request died: ${e instanceof Error ? e.message : String(e)}`);
    writeErrorStream(out, emptySchema(), toWireError(error), { serverId: this.serverId, requestId });
    return { status: 200, headers: [['Content-Type', ARROW_CONTENT_TYPE], ['X-VGI-RPC-Error', 'true']], body: out };
  }

  /** Tell every worker to end its live streams (drain). */
  async closeStreams(detail: string): Promise<void> {
    this.owners.clear();
    await Promise.all(this.pool.liveWorkers.map((tid) =>
      this.pool.runTask(tid, { transport: HTTP_TASKS, payload: { op: 'closeStreams', detail } satisfies HttpTaskPayload }).catch(() => undefined)));
  }

  private startSweeping(): void {
    if (this.sweeper !== undefined || !(this.ttlMs > 0)) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [token, o] of this.owners) if (o.expiresAt <= now) this.owners.delete(token);
      if (this.owners.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, Math.min(this.ttlMs, 5000));
    this.sweeper.unref();
  }
}
