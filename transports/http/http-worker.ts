/**
 * The HTTP routes' worker-side part: each worker of a pool answers the HTTP
 * requests the front end addresses to it with its own HttpApp (its
 * dispatcher, its call-state cache), and interrupts a request's call when
 * the front end says its client went away.
 *
 * Requests and replies travel on a link (a MessagePort) the front end opens
 * to each worker with one pool task, not as a pool task each: the front end
 * sends every request that arrived in one turn of its event loop as one
 * message, and a worker sends the replies it finished in one turn of its
 * own as one message. A task per request cost the main thread a postMessage
 * (a thread wake-up) and piscina's bookkeeping, over 30 µs per call, more
 * than everything else the front end does. Reply bodies are moved back to
 * the main thread, not copied. With the runtime's `hop: 'sab'` a link also
 * has two rings in shared memory for its small messages (link-ring.ts).
 */
import { type MessagePort, threadId } from 'node:worker_threads';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import { concatBytes } from '../../src/wire/batch-encoder.js';
import type { TransportTaskHandler } from '../../runtime/worker-entry.js';
import { type HttpSettings, appOptionsOf } from './http-config.js';
import { pageModel } from '../../src/http/pages.js';
import { HttpApp, type InFlight, type RpcRequest } from './http-app.js';

import { HTTP_TASKS } from './http-worker-hook.js';
import { type ListenOrder, WorkerListener } from './worker-listener.js';
import type { Authenticate } from './unauthorized.js';
import type { RingWriter } from '../../runtime/sab-ring.js';
import { type SabChannel, openSide } from '../../runtime/sab-channel.js';
import { pumpBatches, writeBatch } from './link-ring.js';

export { HTTP_TASKS };

/** What the front end sends a worker as a pool task. */
export type HttpTaskPayload =
  /** Open the link to worker `threadId`: requests and aborts arrive on `port`, replies leave on it; with `sab` (the `sab` hop), small ones travel through its rings (this worker holds side `b`). */
  | { readonly op: 'link'; readonly threadId: number; readonly port: MessagePort; readonly sab?: SabChannel }
  | { readonly op: 'closeStreams'; readonly detail: string }
  /** Release every sticky session now (the drain handle's `shutdown`); streams and the listener go on. */
  | { readonly op: 'closeSessions' }
  /** Refuse new sticky sessions (`on`), or accept them again. */
  | { readonly op: 'draining'; readonly on: boolean }
  /** The page model of the hosted protocols (the front end renders the HTML pages from it). */
  | { readonly op: 'pageModel' }
  /** Listen on the shared port with this worker's own front end (`listeners: 'workers'`); answers the port bound. */
  | { readonly op: 'listen'; readonly order: ListenOrder }
  /** Stop listening (`now`: at once, else once the requests in flight are answered). */
  | { readonly op: 'unlisten'; readonly now: boolean }
  /** How many sticky sessions this worker holds (answers a number). */
  | { readonly op: 'liveSessions' }
  /** Whether this worker's module sets an `authenticate` hook (answers a boolean). */
  | { readonly op: 'authenticates' };

/** What the front end sends on a link (in batches: one message carries an array of these). */
export type LinkMessage =
  | { readonly op: 'request'; readonly id: number; readonly request: RpcRequest }
  | { readonly op: 'abort'; readonly id: number }
  /** A large reply buffer the engine has written: back for the worker to fill again. */
  | { readonly op: 'recycle'; readonly buffer: ArrayBuffer };

/** Reply bodies at least this large travel in buffers that come back to be reused (see ReplyBuffers). */
export const RECYCLE_MIN_BYTES = 64 * 1024;

/**
 * Large reply buffers handed back by the front end once written, to be
 * filled again. A 1.6 MB producer batch in a fresh buffer each time cost
 * the worker its page faults and the main thread a full garbage collection
 * every ten batches or so (each moved buffer is external memory there,
 * until a collection finds it unreachable); a buffer moved back leaves the
 * main thread's accounting at once. Kept: a few buffers, up to 64 MiB.
 */
export class ReplyBuffers {
  private readonly free: ArrayBuffer[] = [];
  private bytes = 0;

  /** Keep `buffer` for a later reply (or let it go when enough are kept). */
  give(buffer: ArrayBuffer): void {
    if (this.free.length >= 8 || this.bytes + buffer.byteLength > 64 * 1024 * 1024) return;
    this.free.push(buffer);
    this.bytes += buffer.byteLength;
  }

  /** `chunks` gathered into one buffer whose whole length they fill at most 1/8 short of: a kept one when one fits, else a new one. */
  gather(chunks: readonly Uint8Array[], total: number): Uint8Array {
    let out: Uint8Array | undefined;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= total && b.byteLength - total <= b.byteLength >>> 3) {
        this.free.splice(i, 1);
        this.bytes -= b.byteLength;
        out = new Uint8Array(b, 0, total);
        break;
      }
    }
    out ??= new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/** A worker's answer to one request (the body in one buffer, moved to the receiving thread). */
export interface HttpTaskReply {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** What a worker sends back on a link (in batches): the reply to request `id`, or why it has none. */
export type LinkReply =
  | { readonly id: number; readonly reply: HttpTaskReply }
  | { readonly id: number; readonly failed: string }
  /** This worker's thread is exiting: these are the requests it had received and not answered (the others never ran). */
  | { readonly dying: readonly number[] }
  /** The worker took the link (its first message): requests sent before it died without saying so never ran. */
  | { readonly linked: true };

/** Answer one request with `app` as a task reply (the body gathered into one transferable buffer, a recycled one when `buffers` has one that fits). */
export const answerTask = async (app: HttpApp, request: RpcRequest, onStart?: (f: InFlight) => void, buffers?: ReplyBuffers): Promise<HttpTaskReply> => {
  const reply = await app.answer(request, onStart);
  let total = 0;
  for (const c of reply.body) total += c.byteLength;
  const body = reply.body.length === 1 && reply.body[0]!.byteOffset === 0 && reply.body[0]!.byteLength === reply.body[0]!.buffer.byteLength
    ? reply.body[0]!
    : buffers !== undefined && total >= RECYCLE_MIN_BYTES ? buffers.gather(reply.body, total) : concatBytes(reply.body);
  return { status: reply.status, headers: reply.headers, body };
};

/**
 * Messages queued for one link and sent together once the current turn of
 * the event loop is over (setImmediate runs after the I/O callbacks of the
 * turn): over the port with their transferables, or, on a link with a
 * ring (the `sab` hop, see link-ring.ts), those that move no large buffer
 * as one frame through the ring.
 */
export class LinkBatch<T> {
  private queue: T[] = [];
  private transfer: ArrayBuffer[] = [];
  private ringQueue: T[] = [];
  private scheduled = false;

  constructor(
    private readonly port: MessagePort,
    private readonly ring?: RingWriter,
  ) {}

  /** Queue `message` (moving `buffer` with it, when given). */
  send(message: T, buffer?: ArrayBuffer): void {
    if (this.ring !== undefined && (buffer === undefined || buffer.byteLength < RECYCLE_MIN_BYTES)) {
      this.ringQueue.push(message);
    } else {
      this.queue.push(message);
      if (buffer !== undefined) this.transfer.push(buffer);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Send what is queued now (a thread about to exit). */
  flushNow(): void {
    if (this.queue.length > 0 || this.ringQueue.length > 0) this.flush();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.ringQueue.length > 0) {
      const batch = this.ringQueue;
      this.ringQueue = [];
      writeBatch(this.ring!, batch);
    }
    if (this.queue.length === 0) return;
    const queue = this.queue;
    const transfer = this.transfer;
    this.queue = [];
    this.transfer = [];
    this.port.postMessage(queue, transfer);
  };
}

/** This worker's handler of HTTP tasks: its HttpApp, and the links the front end opens to it. */
export const httpTaskHandler = (dispatcher: Dispatcher, settings: HttpSettings, authenticate?: Authenticate): TransportTaskHandler => {
  const app = new HttpApp(dispatcher, appOptionsOf(settings, threadId));
  const inFlight = new Map<number, InFlight>();
  const aborted = new Set<number>();
  const abort = (id: number): void => {
    const f = inFlight.get(id);
    if (f !== undefined) f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' });
    else aborted.add(id);
  };
  const buffers = new ReplyBuffers();
  let listener: WorkerListener | undefined;
  /** The links open to this worker, told on its exit which requests it had received. */
  const openLinks = new Set<{ readonly out: LinkBatch<LinkReply>; readonly port: MessagePort; readonly received: Set<number> }>();
  let exitHooked = false;
  const answer = async (id: number, request: RpcRequest, out: LinkBatch<LinkReply>, received: Set<number>): Promise<void> => {
    received.add(id);
    try {
      const reply = await answerTask(app, request, (f) => {
        inFlight.set(id, f);
        if (aborted.delete(id)) f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' });
      }, buffers);
      out.send({ id, reply }, reply.body.byteLength === 0 ? undefined : reply.body.buffer as ArrayBuffer);
    } catch (e) {
      out.send({ id, failed: e instanceof Error ? e.message : String(e) });
    } finally {
      received.delete(id);
      inFlight.delete(id);
      aborted.delete(id);
    }
  };
  return {
    transport: HTTP_TASKS,
    handle: async (payload) => {
      const task = payload as HttpTaskPayload;
      if (task.op === 'link') {
        // A link task reaches another worker when its own has just exited: refuse it, so the front end fails its requests.
        if (task.threadId !== threadId) {
          task.port.close();
          throw new Error(`worker thread ${task.threadId} is gone`);
        }
        // piscina keeps this thread alive: the ring's ends need not.
        const ring = task.sab === undefined ? undefined : openSide(task.sab, 'b', { holdThread: false });
        const out = new LinkBatch<LinkReply>(task.port, ring?.writer);
        const received = new Set<number>();
        // A thread that exits tells the link which of its requests it had received: the others, still in
        // the port, never ran, and the sender may answer them elsewhere (see NotReceivedError).
        const port = task.port;
        port.postMessage([{ linked: true }] satisfies LinkReply[]);
        const link = { out, port, received };
        openLinks.add(link);
        if (!exitHooked) {
          exitHooked = true;
          process.once('exit', () => {
            for (const l of openLinks) {
              l.out.flushNow();
              l.port.postMessage([{ dying: [...l.received] }] satisfies LinkReply[]);
            }
          });
        }
        // The sender's end closed (its thread exited): nothing more to tell it.
        port.once('close', () => openLinks.delete(link));
        const take = (batch: readonly LinkMessage[]): void => {
          for (const m of batch) {
            if (m.op === 'request') void answer(m.id, m.request, out, received);
            else if (m.op === 'abort') abort(m.id);
            else buffers.give(m.buffer);
          }
        };
        task.port.on('message', take);
        if (ring !== undefined) void pumpBatches(ring.reader, take);
        return undefined;
      }
      if (task.op === 'pageModel') return pageModel(dispatcher.hosting, { prefix: settings.prefix });
      if (task.op === 'listen') {
        listener ??= new WorkerListener(dispatcher, app, settings, authenticate);
        return listener.listen(task.order);
      }
      if (task.op === 'liveSessions') return app.liveSessions;
      if (task.op === 'authenticates') return authenticate !== undefined;
      if (task.op === 'unlisten') {
        await listener?.unlisten(task.now);
        return undefined;
      }
      if (task.op === 'draining') {
        app.setDraining(task.on);
        listener?.setReady(!task.on);
        return undefined;
      }
      if (task.op === 'closeSessions') {
        await app.closeSessions();
        return undefined;
      }
      await app.closeStreams({ _tag: 'shutdown', detail: task.detail });
      return undefined;
    },
  };
};
