/**
 * Why the runtime interrupted a handler, readable inside Effect. Every
 * interruption the runtime makes comes from a fiber id reserved for its
 * reason, so a finalizer (the `Exit` of `Effect.addFinalizer` or
 * `acquireRelease`), `Effect.onInterrupt`'s interruptors or a `Cause` tell a
 * client that went away from a cancelled stream or a server shutting down:
 *
 *   Effect.acquireRelease(open, (file, exit) =>
 *     Effect.log(`closing (${Interruption.reasonOf(exit) ?? 'done'})`))
 */
import * as Cause from 'effect/Cause';
import * as Exit from 'effect/Exit';
import * as FiberId from 'effect/FiberId';
import * as HashSet from 'effect/HashSet';

/**
 * Why a call or stream was interrupted from outside its handler:
 * `client-gone` (the client disconnected or abandoned the stream),
 * `cancel` (the client cancelled the stream), `shutdown` (the server shut
 * down, or a drain's grace period ended).
 */
export type InterruptionReason = 'client-gone' | 'cancel' | 'shutdown';

const REASONS: readonly InterruptionReason[] = ['client-gone', 'cancel', 'shutdown'];

/** Reserved fiber ids (negative: no real fiber has one), one per reason. */
const ID_BASE = -7_100;

const ids = new Map(REASONS.map((r, i) => [r, FiberId.make(ID_BASE - i, 0)] as const));

const reasonOfId = (id: number): InterruptionReason | undefined => REASONS[ID_BASE - id];

/** Interruption reasons as fiber ids, and back. */
export const Interruption = {
  /** The fiber id the runtime interrupts with for `reason`. */
  fiberId: (reason: InterruptionReason): FiberId.FiberId => ids.get(reason)!,
  /**
   * Why the runtime interrupted: from an Exit, a Cause, or the interruptors
   * `Effect.onInterrupt` gives. Undefined when nothing was interrupted, or
   * not by the runtime (the handler's own interruptions).
   */
  reasonOf: (from: Exit.Exit<unknown, unknown> | Cause.Cause<unknown> | HashSet.HashSet<FiberId.FiberId>): InterruptionReason | undefined => {
    const interruptors = HashSet.isHashSet(from)
      ? from
      : Exit.isExit(from)
        ? (Exit.isFailure(from) ? Cause.interruptors(from.cause) : HashSet.empty<FiberId.FiberId>())
        : Cause.interruptors(from);
    for (const fiberId of interruptors) {
      for (const id of FiberId.ids(fiberId)) {
        const reason = reasonOfId(id);
        if (reason !== undefined) return reason;
      }
    }
    return undefined;
  },
} as const;
