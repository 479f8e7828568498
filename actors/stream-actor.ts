/**
 * StreamActor: one producer or exchange stream inside a worker. The actor
 * owns the stream's state (the stream object its handler built, the output
 * encoder, and the Scope holding what the handler acquired) and works
 * through its mailbox, the client's input frames, one message at a time in
 * lockstep: each tick or input batch is one turn, run as a fiber on the
 * worker's runtime (see call-actor). Its connection's CallTracker supervises
 * it: a disconnect or a shutdown interrupts it with a reason wherever it is,
 * inside a turn (the turn's fiber is interrupted) or waiting for input (the
 * wait is woken). A client cancel runs the stream's onCancel. However the
 * stream ends, its Scope is closed with the exit before the last bytes go
 * out, so a client that sees the end of the stream knows the handler's
 * resources are released. A stream that ends with an EXCEPTION batch is
 * logged on the server too (call-log).
 */
import * as Cause from 'effect/Cause';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Scope from 'effect/Scope';
import { StreamEncoder } from '../src/wire/batch-encoder.js';
import type { Frame } from '../src/wire/stream-reader.js';
import { Keys } from '../src/wire/metadata-keys.js';
import { type ExchangeMethod, emptySchema } from '../src/service/method.js';
import { Errors, toWireError } from '../src/service/errors.js';
import { type Done, type Emission, BatchView, emissionColumns, metadataMap } from '../src/service/stream-output.js';
import type { ByteConnection } from '../src/protocol/byte-connection.js';
import { type CallRunner, type CallScope, type ConnectionCalls, type InterruptReason, type StreamRunner, interruptFiberId } from '../src/protocol/call-scope.js';
import type { CallContext } from '../src/service/call-context.js';
import { coerceInput } from '../src/protocol/input-coercion.js';
import { DecodedBatch } from '../src/wire/stream-reader.js';
import { errorMetadata, type Stamp, writeErrorStream, writeLogs } from '../src/protocol/responses.js';
import { type AnyStream, type DetachedStream, type DetachedTurn, type OpenedStream, type StreamMethod, type StreamOutput, type TurnFraming, INPUT_ABANDONED, drainInput, encodeHeaderStream, handlerMetadata, inputAbandoned, outputOf } from '../src/protocol/stream-protocol.js';
import { causeError } from '../src/protocol/unary-call.js';
import { encodeStreamState } from '../src/protocol/stream-state.js';
import { logFailure } from '../src/protocol/call-log.js';
import type { WireErrorInfo } from '../src/service/errors.js';
import type { CallTracker, Interruptible } from './supervisor.js';
import { Interruption } from '../src/service/interruption.js';
import type { CallShm } from '../src/protocol/connection-shm.js';
import { isShmPointer } from '../src/wire/shm-pointer.js';
import { ShmSegmentError } from '../src/wire/shm-segment.js';

/**
 * How a stream ends: the exit its Scope is closed with, the last bytes to
 * write once it is closed, and whether the client's input must still be
 * read to its end (`open` when its schema was already read).
 */
export interface Ending {
  readonly exit: Exit.Exit<unknown, unknown>;
  readonly final: Uint8Array[];
  readonly drain: 'none' | 'unopened' | 'open';
  /** True when `final` carries an EXCEPTION batch. */
  readonly failed?: true;
}

/** An open stream's live state between turns: the handler's stream object, its output columns and the output encoder. */
export interface LiveStream {
  readonly stream: AnyStream;
  readonly output: StreamOutput;
  readonly enc: StreamEncoder;
}

/** What one turn gives: output batches to send (the stream goes on), the stream's end, or nothing (a frame with no turn). */
export type Turn =
  | { readonly _tag: 'output'; readonly out: Uint8Array[] }
  | { readonly _tag: 'end'; readonly ending: Ending }
  | { readonly _tag: 'nothing' };

/** Most turns whose output the byte-stream driver holds back while more input is already waiting. */
const MAX_HELD_TURNS = 8;
/** Most bytes of output held back that way (a large inline batch is written at once). */
const MAX_HELD_BYTES = 64 * 1024;
/** Longest a held output waits for the turns after it, in milliseconds. */
const MAX_HELD_MS = 2;

const ending = (exit: Exit.Exit<unknown, unknown>, final: Uint8Array[], drain: Ending['drain']): Ending => ({ exit, final, drain });

/** How a cancelled stream's Scope is closed: interrupted, with the cancel reason (see Interruption). */
const cancelled = Exit.interrupt(Interruption.fiberId('cancel'));

/** What init gives: the header stream and live state, or the ending of a failed init. */
type Opened =
  | { readonly _tag: 'failed'; readonly ending: Ending }
  | { readonly _tag: 'open'; readonly header: Uint8Array[] | undefined; readonly stream: AnyStream; readonly output: StreamOutput };

/** One producer or exchange stream, from its init to its last batch. */
export class StreamActor implements Interruptible {
  private stamp: Stamp;
  /** True once the connection's calls are interrupted: waits for input give up. */
  private readonly stopped = (): boolean => this.calls.reason !== undefined;

  private constructor(
    /** The byte-stream connection it is served on; undefined for a stream driven turn by turn from outside (HTTP). */
    private readonly conn: ByteConnection | undefined,
    private readonly runner: CallRunner<CallContext>,
    private readonly scope: CallScope,
    private readonly method: StreamMethod,
    /** Who supervises it: the connection's calls, or (driven from outside) the current request's. */
    private calls: ConnectionCalls,
    private readonly streamScope: Scope.CloseableScope,
    /** The client's shared-memory segment (byte streams whose client named one). */
    private readonly shm?: CallShm,
  ) {
    this.stamp = { serverId: scope.context.serverId, requestId: scope.context.requestId };
  }

  /** The region of the last input batch read from the segment, freed when the next input arrives or the stream ends (the reference's order). */
  private heldInput: (() => void) | undefined;

  /** Free the region of the input held since the last turn, if any. */
  private releaseInput(): void {
    const release = this.heldInput;
    this.heldInput = undefined;
    release?.();
  }

  /** Serve one stream call on `conn`, supervised by `calls`; resolves when the stream is over. */
  static async serve(runner: CallRunner, ...[conn, scope, method, handler, params, calls, shm]: Parameters<StreamRunner['runStream']>): Promise<void> {
    const tracker = calls as CallTracker;
    const actor = new StreamActor(conn, runner.withContext(scope.context), scope, method, calls, Effect.runSync(Scope.make()), shm);
    tracker.adopt(actor);
    let end = ending(actor.interrupted, [], 'none');
    try {
      const opened = await actor.init(handler, params);
      if (opened._tag === 'failed') end = opened.ending;
      else {
        if (opened.header !== undefined) await conn.write(opened.header);
        end = await actor.lockstep(opened.stream, opened.output);
      }
    } catch (e) {
      // A connection that went away fails the wait for input: that is an interruption with its reason, not a defect.
      end = ending(calls.reason !== undefined ? actor.interrupted : Exit.die(e), [], 'none');
      throw e;
    } finally {
      tracker.release(actor);
      // The last input's region is freed before the output's end goes out: a client that sees it may reuse every region.
      try {
        actor.releaseInput();
      } catch {
        // The region is gone already (the client reset its segment): nothing is left to free.
      }
      await Effect.runPromise(Scope.close(actor.streamScope, end.exit));
    }
    // A vanished client gets nothing more; after a shutdown only input already received is read.
    if (calls.reason?._tag === 'disconnect') return;
    if (end.final.length > 0) await conn.write(end.final);
    if (end.drain !== 'none') await drainInput(conn.frames, end.drain === 'open', actor.stopped, actor.abandoned);
  }

  /**
   * Open a stream that is driven turn by turn from outside (HTTP): its init
   * runs under `calls`; the live stream keeps its Scope open until a turn
   * ends it or it is closed.
   */
  static async openDetached(runner: CallRunner, ...[scope, method, handler, params, calls, resumed]: Parameters<StreamRunner['openStream']>): Promise<OpenedStream> {
    const actor = new StreamActor(undefined, runner.withContext(scope.context), scope, method, calls, Effect.runSync(Scope.make()));
    let opened: Opened;
    try {
      opened = await actor.init(handler, params, resumed === true);
    } catch (e) {
      await Effect.runPromise(Scope.close(actor.streamScope, Exit.die(e)));
      throw e;
    }
    if (opened._tag === 'failed') {
      await Effect.runPromise(Scope.close(actor.streamScope, opened.ending.exit));
      return { _tag: 'failed', out: opened.ending.final };
    }
    return { _tag: 'open', header: opened.header, stream: new Detached(actor, opened.stream, opened.output) };
  }

  /** Run `f` with `calls` supervising this actor (a detached stream's turn belongs to the request that carries it). */
  async supervisedBy<A>(calls: ConnectionCalls, f: () => Promise<A>): Promise<A> {
    const tracker = calls as CallTracker;
    this.calls = calls;
    tracker.adopt(this);
    try {
      return await f();
    } finally {
      tracker.release(this);
    }
  }

  /** Close the stream's Scope with `exit` (once). */
  async closeScope(exit: Exit.Exit<unknown, unknown>): Promise<void> {
    await Effect.runPromise(Scope.close(this.streamScope, exit));
  }

  /** The stream's method. */
  get streamMethod(): StreamMethod {
    return this.method;
  }

  /** The server id and request id stamped on the stream's log and error batches. */
  get stamped(): Stamp {
    return this.stamp;
  }

  /** Stamp the stream's later log and error batches with `requestId` (a stream driven from outside: each turn is its own request). */
  restamp(requestId: string): void {
    this.stamp = { ...this.stamp, requestId };
  }

  /** Logs the handler emitted since the last take. */
  takeLogs(): ReturnType<CallScope['takeLogs']> {
    return this.scope.takeLogs();
  }

  /**
   * The client ended its input inside the stream: it hung up on it, like a
   * client that went away. Interrupting the connection's calls with that
   * reason stops the dispatcher reading further (there is nothing to read).
   */
  private readonly abandoned = (): void => {
    this.calls.interruptAll({ _tag: 'disconnect', detail: INPUT_ABANDONED });
  };

  /** An input frame already received (undefined: wait with `nextInput`); null when the input ended. */
  private readyInput(): Frame | null | undefined {
    try {
      return this.conn!.frames.tryNext();
    } catch (e) {
      return this.cutShort(e);
    }
  }

  /** The next input frame, waiting for it: undefined when interrupted meanwhile, null when the input ended. */
  private async nextInput(): Promise<Frame | null | undefined> {
    try {
      return await this.conn!.frames.nextUnless(this.stopped);
    } catch (e) {
      return this.cutShort(e);
    }
  }

  /** Reading the input failed: null if the client abandoned the stream, otherwise rethrow. */
  private cutShort(e: unknown): null {
    if (!inputAbandoned(e)) throw e;
    this.abandoned();
    return null;
  }

  /**
   * The tracker has set its reason (read back from `calls.reason`) and
   * interrupts a turn in progress itself; a wait for input ends now.
   */
  interrupt(): void {
    this.conn?.frames.wakeWaiter();
  }

  /** How the stream's Scope is closed when it is interrupted from outside: with the reason's fiber id (see Interruption). */
  private get interrupted(): Exit.Exit<never, never> {
    return Exit.interrupt(interruptFiberId(this.calls.reason));
  }

  /** The error a stream interrupted by its supervisor reports. */
  private interruptedError(): unknown {
    return causeError(Cause.interrupt(interruptFiberId(this.calls.reason)), this.calls.reason);
  }

  /** Log the stream's failure on the server (its record names `cause`'s kind: failure, defect or interruption). */
  private logFailure(cause: Cause.Cause<unknown>, error: WireErrorInfo): void {
    const { protocol, method } = this.scope.context;
    logFailure(this.runner, { protocol, method }, { cause, error, requestId: this.stamp.requestId });
  }

  /** The error stream of a failed init; `cause` is how it failed, for the server log. */
  private initError(e: unknown, exit: Exit.Exit<unknown, unknown>, cause: Cause.Cause<unknown>): Ending {
    const out: Uint8Array[] = [];
    const error = toWireError(e);
    writeErrorStream(out, emptySchema(), error, this.stamp, this.scope.takeLogs());
    this.logFailure(cause, error);
    return ending(exit, out, 'unopened');
  }

  /**
   * Init: the handler builds the stream state inside the stream's Scope; out
   * come the header stream (when the method declares one) and the live
   * state, or the ending of a failed init.
   */
  private async init(handler: (params: never) => Effect.Effect<unknown, unknown, never>, params: Record<string, unknown>, resumed = false): Promise<Opened> {
    const { runner, scope, method } = this;
    const init = await runner.run(Scope.extend(Effect.suspend(() => handler(params as never)), this.streamScope) as Effect.Effect<unknown, unknown, CallContext>, this.calls);
    if (Exit.isFailure(init)) return { _tag: 'failed', ending: this.initError(causeError(init.cause, this.calls.reason), init, init.cause) };
    const stream = init.value as AnyStream;
    let header: Uint8Array[] | undefined;
    if (method.headerSchema !== undefined && !resumed) {
      try {
        header = encodeHeaderStream(method, stream.header, scope.takeLogs(), this.stamp);
      } catch (e) {
        return { _tag: 'failed', ending: this.initError(e, Exit.fail(e), Cause.die(e)) };
      }
    }
    let output: StreamOutput;
    try {
      output = outputOf(method, stream.columns);
    } catch (e) {
      return { _tag: 'failed', ending: this.initError(e, Exit.fail(e), Cause.die(e)) };
    }
    return { _tag: 'open', header, stream, output };
  }

  /** The byte-stream driver of `turn`: one output batch per client tick or input batch read from the connection, until the stream ends. */
  private async lockstep(stream: AnyStream, output: StreamOutput): Promise<Ending> {
    const { scope, stamp, calls } = this;
    const conn = this.conn!;
    // Wait for the client's input stream to open before writing the output schema.
    let first = this.readyInput();
    if (first === undefined) first = await this.nextInput();
    if (first === undefined) {
      const out: Uint8Array[] = [];
      const error = toWireError(this.interruptedError());
      writeErrorStream(out, output.schema, error, stamp, scope.takeLogs());
      this.logFailure(Cause.interrupt(interruptFiberId(this.calls.reason)), error);
      return ending(this.interrupted, out, 'unopened');
    }
    if (first === null) return ending(this.interrupted, [], 'none');
    if (first.kind !== 'schema') throw new Error('stream input did not start with a schema');
    const enc = new StreamEncoder(output.schema);
    const head: Uint8Array[] = [];
    enc.writeSchema(head);
    writeLogs(head, enc, scope.takeLogs(), stamp);
    await conn.write(head);
    const live: LiveStream = { stream, output, enc };
    // Small output of quick turns whose next input was already here (a client keeping ticks in flight, answered
    // with shared-memory pointers): written together once no more input is waiting, so a group of ticks costs
    // fewer writes. Held for at most MAX_HELD_TURNS turns, MAX_HELD_BYTES bytes and MAX_HELD_MS, so large
    // batches and slow turns reach the client as soon as they are made.
    let held: Uint8Array[] = [];
    let heldTurns = 0;
    let heldBytes = 0;
    let heldSince = 0;
    for (;;) {
      // undefined: interrupted while waiting for input; null: the input ended
      let f = this.readyInput();
      if (f === undefined) {
        if (held.length > 0) {
          await conn.write(held);
          held = [];
          heldTurns = heldBytes = 0;
        }
        f = await this.nextInput();
      }
      if (f === undefined) return this.failTurn(live, held, this.interruptedError(), this.interrupted, Cause.interrupt(interruptFiberId(calls.reason)));
      if (f === null) return ending(this.interrupted, held, 'none');
      const turnStart = performance.now();
      const next = await this.turn(live, f);
      if (next._tag === 'end') return held.length === 0 ? next.ending : { ...next.ending, final: [...held, ...next.ending.final] };
      if (next._tag === 'output') {
        // Timed from the start of the first held turn: a slow turn's output is never held.
        if (heldTurns === 0) heldSince = turnStart;
        for (const chunk of next.out) {
          held.push(chunk);
          heldBytes += chunk.byteLength;
        }
        if (++heldTurns >= MAX_HELD_TURNS || heldBytes >= MAX_HELD_BYTES || performance.now() - heldSince >= MAX_HELD_MS) {
          await conn.write(held);
          held = [];
          heldTurns = heldBytes = 0;
        }
      }
    }
  }

  /** The turn that ends the stream with `e`, as an EXCEPTION batch and EOS after `out`; `cause` is how it failed, for the server log. */
  private failTurn(live: LiveStream, out: Uint8Array[], e: unknown, ended: Exit.Exit<unknown, unknown>, cause: Cause.Cause<unknown>): Ending {
    const error = toWireError(e);
    live.enc.writeEmpty(out, errorMetadata(error, this.stamp));
    live.enc.writeEos(out);
    this.logFailure(cause, error);
    return { ...ending(ended, out, 'open'), failed: true };
  }

  /**
   * One turn of an open stream, driven from outside: an input frame in (a
   * tick, an input batch, a cancel, the end of the client's input), that
   * turn's output batches out, or the stream's end.
   */
  async turn(live: LiveStream, f: Frame, dataMetadata?: () => ReadonlyMap<string, string>): Promise<Turn> {
    const { runner, scope, method, stamp, calls } = this;
    const { stream, enc, output } = live;
    const out: Uint8Array[] = [];
    if (f.kind === 'eos') {
      enc.writeEos(out);
      return { _tag: 'end', ending: ending(Exit.void, out, 'none') };
    }
    if (f.kind === 'badBatch') {
      const bad = Errors.protocol(f.error.message);
      return { _tag: 'end', ending: this.failTurn(live, out, bad, Exit.fail(f.error), Cause.fail(bad)) };
    }
    if (f.kind !== 'batch') return { _tag: 'nothing' };
    let batch = f.batch;
    if (isShmPointer(batch.numRows, batch.metadata)) {
      // An input that lives in the client's segment: read it back (a copy), free the previous input's region.
      try {
        if (this.shm === undefined) throw new ShmSegmentError('badPointer', 'the input batch is a shared-memory pointer, but this connection has no segment attached (name it with vgi_rpc.shm_segment_name and vgi_rpc.shm_segment_size on the request)');
        const resolved = this.shm.channel.resolve(batch);
        this.releaseInput();
        this.heldInput = resolved.release;
        batch = resolved.batch;
      } catch (e) {
        return { _tag: 'end', ending: this.failTurn(live, out, e, Exit.fail(e), Cause.fail(e)) };
      }
    } else if (this.heldInput !== undefined) {
      try {
        this.releaseInput();
      } catch (e) {
        return { _tag: 'end', ending: this.failTurn(live, out, e, Exit.fail(e), Cause.fail(e)) };
      }
    }
    if (batch.meta(Keys.cancel) !== undefined) {
      if (stream.onCancel !== undefined) await runner.run(Effect.catchAllCause(stream.onCancel, () => Effect.void) as Effect.Effect<void, never, CallContext>, calls);
      scope.takeLogs();
      enc.writeEos(out);
      return { _tag: 'end', ending: ending(cancelled, out, 'open') };
    }
    let turn: Effect.Effect<Emission<unknown> | Done<unknown>, unknown, CallContext>;
    try {
      turn = (method.kind === 'producer'
        ? stream.produce({ metadata: handlerMetadata(batch.metadata) })
        : exchangeTurn(stream, method, batch)) as typeof turn;
    } catch (e) {
      turn = Effect.die(e);
    }
    // A turn that is already a value (Effect.succeed / fail) needs no fiber.
    type TurnExit = Exit.Exit<Emission<unknown> | Done<unknown>, unknown>;
    const exit: TurnExit = calls.reason !== undefined ? this.interrupted : Exit.isExit(turn) ? (turn as TurnExit) : await runner.run(turn, calls);
    writeLogs(out, enc, scope.takeLogs(), stamp);
    const fail = (e: unknown, ended: Exit.Exit<unknown, unknown>, cause: Cause.Cause<unknown>): Turn =>
      ({ _tag: 'end', ending: this.failTurn(live, out, e, ended, cause) });
    if (Exit.isFailure(exit)) return fail(causeError(exit.cause, calls.reason), exit, exit.cause);
    const result = exit.value;
    if (result === undefined || result === null) {
      const none = Errors.runtime('No data batch was emitted');
      return fail(none, Exit.void, Cause.die(none));
    }
    const emit = (emission: Emission<unknown>): Turn | undefined => {
      try {
        const { length, columns } = emissionColumns(output.fields, output.schema, emission);
        const own = metadataMap(emission.metadata);
        const extra = dataMetadata?.();
        const md = extra === undefined ? own : own === undefined ? extra : new Map([...own, ...extra]);
        // Large output goes through the client's segment when its request used one.
        if (this.shm?.answer === true) this.shm.channel.writeBatch(enc, out, length, columns, md);
        else enc.writeColumns(out, length, columns, md);
        return undefined;
      } catch (e) {
        return fail(e, Exit.fail(e), Cause.die(e));
      }
    };
    if (result._tag === 'done') {
      if (method.kind === 'exchange') {
        const finished = Errors.runtime('an exchange stream cannot finish; the client ends it by closing its input');
        return fail(finished, Exit.void, Cause.die(finished));
      }
      if (result.last !== undefined) {
        const failed = emit(result.last);
        if (failed !== undefined) return failed;
      }
      enc.writeEos(out);
      return { _tag: 'end', ending: ending(Exit.void, out, 'open') };
    }
    return emit(result) ?? { _tag: 'output', out };
  }
}

/** The synthetic tick of a producer's first turn on `/init`. */
const INIT_TICK: Frame = { kind: 'batch', batch: new DecodedBatch(emptySchema(), 0, [], undefined, []) };

/**
 * A StreamActor driven from outside: every turn writes one complete output
 * stream (schema, logs, the turn's batches, the trailer while the stream
 * goes on, EOS), so each can be the body of its own HTTP response.
 */
class Detached implements DetachedStream {
  busy = false;
  ended = false;
  readonly kind: 'producer' | 'exchange';

  constructor(
    private readonly actor: StreamActor,
    private readonly stream: AnyStream,
    private readonly output: StreamOutput,
  ) {
    this.kind = actor.streamMethod.kind;
  }

  async turn(frame: Frame | undefined, framing: TurnFraming, calls: ConnectionCalls): Promise<DetachedTurn> {
    if (this.busy || this.ended) throw new Error(this.ended ? 'the stream has ended' : 'a turn of this stream is already running');
    this.busy = true;
    try {
      return await this.actor.supervisedBy(calls, () => this.run(frame, framing));
    } finally {
      this.busy = false;
    }
  }

  private async run(frame: Frame | undefined, framing: TurnFraming): Promise<DetachedTurn> {
    if (framing.requestId !== undefined) this.actor.restamp(framing.requestId);
    const enc = new StreamEncoder(this.output.schema);
    const out: Uint8Array[] = [];
    enc.writeSchema(out);
    writeLogs(out, enc, this.actor.takeLogs(), this.actor.stamped);
    if (frame === undefined && this.kind === 'producer') frame = INIT_TICK;
    if (frame !== undefined) {
      const t = await this.actor.turn({ stream: this.stream, output: this.output, enc }, frame, framing.data);
      if (t._tag === 'end') {
        this.ended = true;
        await this.actor.closeScope(t.ending.exit);
        out.push(...t.ending.final);
        return { out, state: t.ending.failed === true ? 'failed' : t.ending.exit === cancelled ? 'cancelled' : 'done' };
      }
      if (t._tag === 'output') out.push(...t.out);
    }
    const trailer = framing.trailer?.();
    if (trailer !== undefined) enc.writeEmpty(out, trailer);
    enc.writeEos(out);
    return { out, state: 'open' };
  }

  async close(reason: InterruptReason): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.actor.closeScope(Exit.interrupt(interruptFiberId(reason)));
  }

  snapshot(): Uint8Array {
    const method = this.actor.streamMethod;
    if (method.state === undefined || this.stream.snapshot === undefined) return NO_STATE;
    return encodeStreamState(method, this.stream.snapshot());
  }
}

const NO_STATE = new Uint8Array(0);

/**
 * An exchange turn on `batch`. Input that does not fit the declared input
 * schema fails the turn (the client's error, not a defect of the handler).
 */
const exchangeTurn = (stream: AnyStream, method: ExchangeMethod, batch: DecodedBatch): Effect.Effect<unknown, unknown, CallContext> => {
  let input: DecodedBatch;
  try {
    input = coerceInput(method.input, method.inputSchema, batch);
  } catch (e) {
    return Effect.fail(e);
  }
  return stream.exchange(new BatchView(method.input, input, handlerMetadata(batch.metadata)));
};

/** The actor layer's StreamRunner: every stream call becomes a StreamActor. */
export const streamRunner = (runner: CallRunner): StreamRunner => ({
  runStream: (...args) => StreamActor.serve(runner, ...args),
  openStream: (...args) => StreamActor.openDetached(runner, ...args),
});
