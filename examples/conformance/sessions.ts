/**
 * Sticky-session access for the counter methods (`open_counter`,
 * `increment_counter`, `close_counter`, `stream_session_counter`,
 * `exchange_session_counter`).
 *
 * The reference calls `ctx.open_session(counter)`, reads the session bound to
 * the request, and `ctx.close_session()`. The service takes the session
 * operations as a `StickySessions` value: the default, `contextSessions`,
 * uses the CallContext's (sticky sessions over HTTP; every other transport
 * refuses to open one); `noStickySessions` never binds one.
 */
import * as Effect from 'effect/Effect';
import { CallContext, Errors, type RpcError } from '../../src/index.js';

/** The error every counter method raises when the request carries no session. */
export const NO_COUNTER_MESSAGE = 'no sticky counter bound to this request';

/** The state a conformance session holds (reference `_Counter`). */
export class StickyCounter {
  /** True once the session was closed (explicitly, by the reaper or by drain). */
  closed = false;

  /** A counter starting at `value`. */
  constructor(public value: bigint) {}

  /** Mark the counter closed (called when its session ends). */
  close(): void {
    this.closed = true;
  }
}

/** The session operations of the request being served. */
export interface StickySessions {
  /** `ctx.open_session(counter)`: bind `counter` to a new session for this client. */
  readonly open: (counter: StickyCounter) => Effect.Effect<void, RpcError, CallContext>;
  /** The counter of the session this request carries, if any. */
  readonly current: Effect.Effect<StickyCounter | undefined, never, CallContext>;
  /** `ctx.close_session()`: end the session this request carries (closes its counter). */
  readonly close: Effect.Effect<void, never, CallContext>;
}

/** A transport without sticky sessions: opening fails, nothing is ever bound. */
export const noStickySessions: StickySessions = {
  open: () => Effect.fail(Errors.runtime('open_session requires sticky sessions: the request did not send VGI-Session-Accept: true or its transport has no sticky support')),
  current: Effect.succeed(undefined),
  close: Effect.void,
};

/** The CallContext's sticky sessions (the session's end closes its counter). */
export const contextSessions: StickySessions = {
  open: (counter) => Effect.flatMap(CallContext, (ctx) => ctx.openSession(counter)),
  current: Effect.map(CallContext, (ctx) => (ctx.session instanceof StickyCounter ? ctx.session : undefined)),
  close: Effect.flatMap(CallContext, (ctx) => ctx.closeSession),
};

/** The counter bound to this request, or the reference's RuntimeError. */
export const boundCounter = (sessions: StickySessions): Effect.Effect<StickyCounter, RpcError, CallContext> =>
  Effect.flatMap(sessions.current, (c) => (c === undefined ? Effect.fail(Errors.runtime(NO_COUNTER_MESSAGE)) : Effect.succeed(c)));
