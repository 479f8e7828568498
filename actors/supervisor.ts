/**
 * Supervision inside one worker: every connection's handler fibers are
 * tracked, so a vanished peer or a shutdown interrupts exactly the calls it
 * owns, with a reason, and their Scopes release what the handlers acquired.
 */
import type * as Fiber from 'effect/Fiber';
import { type ConnectionCalls, type InterruptReason, type Supervision, interruptFiberId } from '../src/protocol/call-scope.js';

/** An actor its connection's tracker interrupts (a stream actor); the reason is the tracker's, set before. */
export interface Interruptible {
  interrupt(): void;
}

/** The fibers and stream actors of one connection's calls. */
export class CallTracker implements ConnectionCalls {
  private readonly fibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>();
  private readonly actors = new Set<Interruptible>();
  /** Set once the connection's calls are being interrupted. */
  reason: InterruptReason | undefined;

  /** Handler fibers still running. */
  get size(): number {
    return this.fibers.size;
  }

  /** Track a running call fiber (interrupted at once if the connection is already going away). */
  add(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (this.reason !== undefined) fiber.unsafeInterruptAsFork(interruptFiberId(this.reason));
    else this.fibers.add(fiber);
  }

  /** Open stream actors. */
  get streams(): number {
    return this.actors.size;
  }

  /** Track a live actor (interrupted at once if the connection is already going away). */
  adopt(actor: Interruptible): void {
    if (this.reason !== undefined) actor.interrupt();
    else this.actors.add(actor);
  }

  /** Forget a finished actor. */
  release(actor: Interruptible): void {
    this.actors.delete(actor);
  }

  /** Forget a finished fiber. */
  delete(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    this.fibers.delete(fiber);
  }

  /** Interrupt every running call and open stream (and any started later) with `reason`. */
  interruptAll(reason: InterruptReason): void {
    this.reason ??= reason;
    for (const f of this.fibers) f.unsafeInterruptAsFork(interruptFiberId(this.reason));
    for (const a of this.actors) a.interrupt();
  }
}

/** The per-worker supervisor: the calls of every connection this worker serves. */
export class Supervisor implements Supervision {
  private readonly trackers = new Set<CallTracker>();

  /** A new connection's calls. */
  open(): CallTracker {
    const t = new CallTracker();
    this.trackers.add(t);
    return t;
  }

  /** The connection is finished. */
  close(calls: ConnectionCalls): void {
    this.trackers.delete(calls as CallTracker);
  }

  /** Connections being served. */
  get connections(): number {
    return this.trackers.size;
  }

  /** Handler fibers running across all connections. */
  get runningCalls(): number {
    let n = 0;
    for (const t of this.trackers) n += t.size;
    return n;
  }

  /** Stream actors open across all connections. */
  get openStreams(): number {
    let n = 0;
    for (const t of this.trackers) n += t.streams;
    return n;
  }

  /** Interrupt every call of every connection with `reason`. */
  interruptAll(reason: InterruptReason): void {
    for (const t of this.trackers) t.interruptAll(reason);
  }
}
