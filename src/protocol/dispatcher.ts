/**
 * The transport-free server core for byte-stream transports: reads one
 * request stream at a time from a connection, routes and validates it, runs
 * the call (unary or stream) and writes the response. A bad request gets an
 * error response and the connection keeps serving; only framing errors it
 * cannot resynchronise from end the connection (rejecting with the typed
 * wire error).
 */
import * as Cause from 'effect/Cause';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import type { SessionBinding, TransportKind } from '../service/call-context.js';
import type { Schema } from 'apache-arrow';
import { StreamEncoder } from '../wire/batch-encoder.js';
import { Keys, REQUEST_VERSION } from '../wire/metadata-keys.js';
import type { DecodedBatch } from '../wire/stream-reader.js';
import { IpcFormatError } from '../wire/errors.js';
import { Errors, toWireError } from '../service/errors.js';
import { emptySchema } from '../service/method.js';
import type { AnyService } from '../service/service.js';
import { type ByteConnection, ConnectionClosedError } from './byte-connection.js';
import { type Actors, type CallScope, type ConnectionCalls, type InterruptReason, type Supervision, makeCallScope, newRequestId } from './call-scope.js';
import { Hosting } from './hosting.js';
import type { StreamMethod } from './stream-protocol.js';
import { resolveRequest } from './request.js';
import { type Stamp, writeErrorStream } from './responses.js';
import { type CallShm, ConnectionShm, type SegmentAttacher, requestUsesShm } from './connection-shm.js';
import { isShmPointer } from '../wire/shm-pointer.js';
import { ShmSegmentError } from '../wire/shm-segment.js';
import { runUnary } from './unary-call.js';
import type { ServerLogLevel } from './call-log.js';

/** Server options shared by every transport. */
export interface DispatcherOptions {
  /** 12-hex server id; generated when omitted. */
  readonly serverId?: string;
  /** Host vgi_rpc.Reflection.v1 (default true). */
  readonly reflection?: boolean;
  /**
   * Accept a client's shared-memory segment on byte-stream connections
   * (never HTTP): how to attach one. `__transport_options__` answers
   * `vgi_rpc.transport.shm` "true" on those connections when it is set.
   * The server entry points set it by default where segments can be mapped;
   * `false` turns it off.
   */
  readonly shm?: SegmentAttacher | false;
  /**
   * Runs once per dispatcher (one per worker thread) when it starts serving,
   * with the transport kind of its first connection. If it fails, that
   * connection is refused and the hook runs again for the next one.
   */
  readonly onServeStart?: (kind: TransportKind) => Effect.Effect<void, unknown>;
  /**
   * The server log's level (default `info`). The runtime installs a logger
   * writing one logfmt line per record to stderr, used by the handlers'
   * Effect.log* calls and by the server's records of failed calls (see
   * call-log for their levels).
   */
  readonly logLevel?: ServerLogLevel;
}

/** A failed onServeStart hook; the connection that triggered it is refused. */
export class ServeStartError extends Error {
  override readonly name = 'ServeStartError';
}

/** The protocol core: hosted protocols plus the runner for handler Effects. */
export class Dispatcher {
  /** Create a dispatcher over already-built implementations, running calls and streams with the actor layer's actors and supervisor. */
  constructor(
    readonly hosting: Hosting,
    readonly runner: Actors,
    private readonly supervision: Supervision,
    readonly options: DispatcherOptions = {},
  ) {}

  /** The server id stamped on log and error batches. */
  get serverId(): string {
    return this.hosting.serverId;
  }

  /** Connections being served right now. */
  get connections(): number {
    return this.supervision.connections;
  }

  /** Handler fibers running right now (synchronous handlers never show up here). */
  get runningCalls(): number {
    return this.supervision.runningCalls;
  }

  /** Producer and exchange streams open right now. */
  get openStreams(): number {
    return this.supervision.openStreams;
  }

  /** Interrupt every call of every connection with `reason` (used by shutdown after the grace period). */
  interruptAll(reason: InterruptReason): void {
    this.supervision.interruptAll(reason);
  }

  /** A fresh set of supervised calls (one request's, for request/response transports), released with `done`. */
  openCalls(): { readonly calls: ConnectionCalls; done(): void } {
    const calls = this.supervision.open();
    return { calls, done: () => this.supervision.close(calls) };
  }

  private serveStarted: Promise<void> | undefined;

  /** Run the onServeStart hook once (again after a failure); rejects with ServeStartError when it fails. */
  startServing(kind: TransportKind): Promise<void> {
    const hook = this.options.onServeStart;
    if (hook === undefined) return Promise.resolve();
    this.serveStarted ??= this.runner.run(Effect.suspend(() => hook(kind))).then((exit) => {
      if (Exit.isSuccess(exit)) return;
      this.serveStarted = undefined;
      throw new ServeStartError(`onServeStart(${kind}) failed: ${Cause.pretty(exit.cause).split('\n')[0]}`);
    });
    return this.serveStarted;
  }

  /**
   * Serve requests from `conn` until its input ends or the peer goes away.
   * Rejects with a wire error on unrecoverable framing problems, and with
   * ServeStartError when the onServeStart hook fails.
   */
  async serve(conn: ByteConnection): Promise<void> {
    await this.startServing(conn.transportKind);
    const tracker = this.supervision.open();
    void conn.closed?.then((detail) => {
      tracker.interruptAll({ _tag: 'disconnect', detail });
      conn.frames.fail(new ConnectionClosedError(detail));
    });
    // A handler still running when the input ends may be serving a peer that is gone: let the transport look.
    const checkPeer = conn.checkPeer;
    const peerMayBeGone = (): void => {
      if (checkPeer !== undefined && tracker.size > 0 && tracker.reason === undefined) checkPeer();
    };
    if (checkPeer !== undefined) conn.frames.onEnd(peerMayBeGone);
    if (conn.refuse !== undefined) tracker.interruptAll({ _tag: 'shutdown', detail: conn.refuse });
    // The client's shared-memory segment, attached when a request first names it (byte streams only).
    const attacher = this.options.shm;
    const shm = attacher !== undefined && attacher !== false && conn.transportKind !== 'http' ? new ConnectionShm(attacher) : undefined;
    let draining = false;
    let idle = true;
    const startDrain = (): void => {
      draining = true;
      // Only cut an idle connection: not one whose next request is partly here.
      if (idle && !conn.frames.inStream && conn.frames.bufferedBytes === 0) conn.frames.end();
    };
    void conn.drain?.then(startDrain);
    void conn.shutdown?.then((detail) => {
      startDrain();
      tracker.interruptAll({ _tag: 'shutdown', detail });
    });
    try {
      for (;;) {
        idle = true;
        // Draining, or its calls were interrupted: answer only requests already received. A refused
        // connection's calls are interrupted from the start: it is read until its `drain`.
        if ((draining || (tracker.reason !== undefined && conn.refuse === undefined)) && conn.frames.bufferedBytes === 0) return;
        const req = await readRequestStream(conn);
        idle = false;
        if (req === null) return;
        const handled = this.handle(conn, tracker, req, shm);
        // A request that arrived before the input ended: its handler (running now, if asynchronous) may outlive the peer.
        if (conn.frames.inputEnded) peerMayBeGone();
        await handled;
      }
    } catch (e) {
      if (e instanceof ConnectionClosedError || tracker.reason !== undefined) return;
      throw e;
    } finally {
      this.supervision.close(tracker);
      shm?.close();
    }
  }

  private async handle(conn: ByteConnection, tracker: ConnectionCalls, req: RequestStream, shm: ConnectionShm | undefined): Promise<void> {
    let request = req;
    let callShm: CallShm | undefined;
    let release: (() => void) | undefined;
    if (shm !== undefined && req.batch !== undefined && req.error === undefined) {
      // Attach on first sight of a segment name, then resolve a request that is itself a pointer
      // (before the one-row check). A segment or pointer that fails is answered, and the connection goes on.
      try {
        const md = req.batch.metadata;
        shm.refresh(md);
        const channel = shm.channel;
        if (isShmPointer(req.batch.numRows, md)) {
          if (channel === undefined) {
            throw new ShmSegmentError('badPointer', 'the request batch is a shared-memory pointer, but this connection has no segment attached (name it with vgi_rpc.shm_segment_name and vgi_rpc.shm_segment_size)');
          }
          const resolved = channel.resolve(req.batch);
          request = { schema: resolved.batch.schema, batch: resolved.batch, error: undefined };
          release = resolved.release;
        }
        if (channel !== undefined) callShm = { channel, answer: requestUsesShm(md) };
      } catch (e) {
        const out: Uint8Array[] = [];
        writeErrorStream(out, emptySchema(), toWireError(e), { serverId: this.serverId, requestId: req.batch.meta(Keys.requestId) });
        return conn.write(out);
      }
    }
    const routed = this.route(request, conn.transportKind, undefined, callShm);
    if (release !== undefined) {
      // The arguments are decoded (from a copy): the consumer frees the request's region now, as the reference does.
      try {
        release();
      } catch (e) {
        const out: Uint8Array[] = [];
        writeErrorStream(out, emptySchema(), toWireError(e), { serverId: this.serverId, requestId: undefined });
        return conn.write(out);
      }
    }
    if (routed._tag === 'response') return conn.write(routed.out);
    if (routed._tag === 'stream') return this.runner.runStream(conn, routed.scope, routed.method, routed.handler, routed.params, tracker, callShm);
    const out: Uint8Array[] = [];
    await routed.run(out, tracker);
    await conn.write(out);
  }

  /**
   * The message-level entry every transport uses: one decoded request in;
   * out comes its whole response stream (a unary call, run as a supervised
   * fiber of `calls`, or a request refused before any handler runs), or, for
   * a producer or exchange call, the stream to open, for the transport's
   * driver to run turn by turn.
   */
  async respond(request: RequestStream, transportKind: TransportKind, calls: ConnectionCalls, session?: SessionBinding): Promise<Answer> {
    const routed = this.route(request, transportKind, session);
    if (routed._tag !== 'unary') return routed;
    const out: Uint8Array[] = [];
    const failed = await routed.run(out, calls);
    return { _tag: 'response', out, outcome: failed ? 'failed' : 'ok' };
  }

  /** Route one request: a response it gets at once, a unary call to run, or a stream call to drive. */
  private route(request: RequestStream, transportKind: TransportKind, session?: SessionBinding, shm?: CallShm): Answer | { readonly _tag: 'unary'; run(out: Uint8Array[], calls: ConnectionCalls): Promise<boolean> } {
    const stamp = { serverId: this.serverId, requestId: undefined };
    if (request.error !== undefined) {
      const out: Uint8Array[] = [];
      writeErrorStream(out, emptySchema(), toWireError(Errors.protocol(request.error.message)), stamp);
      return { _tag: 'response', out, outcome: 'rejected' };
    }
    const resolved = resolveRequest(this.hosting, request.schema, request.batch);
    if (resolved._tag === 'rejected') {
      const out: Uint8Array[] = [];
      writeErrorStream(out, resolved.schema, toWireError(resolved.error), { serverId: this.serverId, requestId: resolved.requestId });
      return { _tag: 'response', out, outcome: 'rejected' };
    }
    if (resolved._tag === 'transportOptions') {
      const out: Uint8Array[] = [];
      const enc = new StreamEncoder(emptySchema());
      enc.writeSchema(out);
      enc.writeEmpty(out, new Map([[Keys.transportShm, this.options.shm !== undefined && this.options.shm !== false && transportKind !== 'http' ? 'true' : 'false'], [Keys.requestVersion, REQUEST_VERSION], [Keys.serverId, this.serverId]]));
      enc.writeEos(out);
      return { _tag: 'response', out, outcome: 'ok' };
    }
    const openScope = (): CallScope => makeCallScope({
      requestId: resolved.requestId,
      serverId: this.serverId,
      protocol: resolved.binding.name,
      method: resolved.methodName,
      transportKind,
      requestMetadata: resolved.metadata,
      ...(session === undefined ? {} : { session }),
    });
    const handler = resolved.binding.handlers[resolved.methodName] as unknown as (p: never) => Effect.Effect<unknown, unknown, never>;
    const method = resolved.method;
    if (method.kind === 'unary') {
      const stampOf = (): Stamp => ({ serverId: this.serverId, requestId: resolved.requestId ?? newRequestId() });
      return {
        _tag: 'unary',
        run: (out, calls) => runUnary(out, this.runner, { protocol: resolved.binding.name, method: resolved.methodName }, openScope, method, handler, resolved.params, stampOf, calls, shm?.answer === true ? shm.channel : undefined),
      };
    }
    return { _tag: 'stream', scope: openScope(), method, handler, params: resolved.params };
  }
}

/** What the message-level entry gives for one request: its response stream, or a stream call to drive. */
export type Answer =
  /** `outcome`: answered normally, a handler that failed (EXCEPTION batch), or a request refused before any handler ran. */
  | { readonly _tag: 'response'; readonly out: Uint8Array[]; readonly outcome: 'ok' | 'failed' | 'rejected' }
  | {
    readonly _tag: 'stream';
    readonly scope: CallScope;
    readonly method: StreamMethod;
    readonly handler: (params: never) => Effect.Effect<unknown, unknown, never>;
    readonly params: Record<string, unknown>;
  };

/** One request stream: its schema, first batch, and a recoverable body error if its batch was corrupt. */
export interface RequestStream {
  readonly schema: Schema;
  readonly batch: DecodedBatch | undefined;
  readonly error: Error | undefined;
}

/** Read one complete request stream; null at a clean end of input. */
export const readRequestStream = async (conn: ByteConnection): Promise<RequestStream | null> => {
  const frames = conn.frames;
  const first = frames.tryNext() ?? (await frames.next());
  if (first === null) return null;
  if (first.kind !== 'schema') throw new IpcFormatError('expected a request stream to start with a schema message');
  let batch: DecodedBatch | undefined;
  let error: Error | undefined;
  for (;;) {
    const f = frames.tryNext() ?? (await frames.next());
    if (f === null) throw new IpcFormatError('input ended inside a request stream');
    if (f.kind === 'eos') break;
    if (f.kind === 'badBatch') error ??= f.error;
    if (f.kind === 'batch' && batch === undefined) batch = f.batch;
  }
  return { schema: first.schema, batch, error };
};

/** Anything that can be hosted: a service definition whose implementation is in the Layer's context. */
export type Hostable = AnyService;
