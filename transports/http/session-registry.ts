/**
 * The sticky sessions one worker holds. Each session is a small actor: its
 * state, an absolute expiry (no sliding refresh), a Scope whose finalizers
 * release the state exactly once (close, expiry, drain, shutdown: whichever
 * comes first), and a lock that serializes the session's calls (held for
 * the whole of one request, released however the call ends). A reaper
 * fiber, running while the registry holds sessions, reaps expired sessions
 * every second, visiting only the sessions due by then
 * (they are held in buckets by the second they expire in, which their
 * tokens carry), in slices of about a millisecond (see time-slices.ts), and
 * drops each swept bucket whole; a lookup also refuses an expired one at
 * once, so expiry may be late, never early. A plain state (released by its
 * own `close()`) costs no Scope: it is released by a direct call, which
 * keeps an idle session small and reaping 100,000 of them cheap.
 */
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Fiber from 'effect/Fiber';
import * as Scope from 'effect/Scope';
import { diagnostic } from '../../runtime/diagnostics.js';
import { SLICE_MS, inTimeSlices } from './time-slices.js';
import { hexOf } from '../../src/wire/hex.js';

/** How often expired sessions are reaped. */
const REAP_INTERVAL_MS = 1000;

/**
 * Sleep `ms` without holding the thread open: the reaper must not keep a
 * server (or a test) alive once nothing else does (Effect's own sleep
 * keeps its timer referenced).
 */
const idleSleep = (ms: number): Effect.Effect<void> => Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), ms);
  timer.unref();
  return Effect.sync(() => clearTimeout(timer));
});

/** An already settled promise, so that releasing a plain state allocates none. */
const DONE: Promise<void> = Promise.resolve();

/** Release a plain state: call its `close()` if it has one; a failure is reported, never thrown at the caller. */
const closeState = (state: unknown): void => {
  const close = (state as { close?: unknown } | null | undefined)?.close;
  if (typeof close !== 'function') return;
  try {
    (close as () => void).call(state);
  } catch (e) {
    diagnostic('error')(`vgi-rpc: a sticky session's close() failed: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/** One session: its state, owner, expiry, release and call lock. */
export class SessionEntry {
  private released = false;
  /** The last holder's turn; undefined while no call holds or waits for the lock (an idle session keeps no promise). */
  private tail: Promise<void> | undefined;
  private holders = 0;
  /** Ends the turn of a tryLock() holder once a call waits behind it. */
  private wakeAfterTry: (() => void) | undefined;
  /** The token this server sealed for the session (see SessionRegistry.byToken). */
  token: string | undefined;

  constructor(
    /** The session id, 24 hex digits. */
    readonly id: string,
    readonly state: unknown,
    /** Who opened it (`''`: anonymous): only the same caller may resume it. */
    readonly principalKey: string,
    /** Absolute expiry, milliseconds since the epoch. */
    readonly expiresAt: number,
    /** The Scope the state was acquired in (closing it releases the state); undefined: the state's own `close()` releases it. */
    private readonly scope: Scope.CloseableScope | undefined,
  ) {}

  /** True once the state was released. */
  get isReleased(): boolean {
    return this.released;
  }

  /** True while a call holds (or waits for) the lock. */
  get busy(): boolean {
    return this.holders > 0;
  }

  /** The session's lock at once when nobody holds or waits for it (no promise, no turn of the event loop), else undefined: then `lock()`. */
  tryLock(): (() => void) | undefined {
    if (this.holders > 0) return undefined;
    this.holders = 1;
    return () => {
      const wake = this.wakeAfterTry;
      this.wakeAfterTry = undefined;
      if (--this.holders === 0) this.tail = undefined;
      wake?.();
    };
  }

  /** Wait for the session's lock; the returned function gives it back (call it exactly once). */
  async lock(): Promise<() => void> {
    this.holders++;
    if (this.holders > 1 && this.tail === undefined) {
      // The holder took the lock with tryLock(): its turn ends when it gives it back.
      this.tail = new Promise<void>((resolve) => {
        this.wakeAfterTry = resolve;
      });
    }
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const before = this.tail;
    this.tail = before === undefined ? mine : before.then(() => mine);
    if (before !== undefined) await before;
    return () => {
      // Nobody holds or waits for the lock any more: forget the chain.
      if (--this.holders === 0) this.tail = undefined;
      unlock();
    };
  }

  /**
   * Release the state unless it was released already; whether this call
   * released it: at once for a plain state (its `close()` ran), once the
   * finalizers have run for a state acquired in a Scope.
   */
  release(): boolean | Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    if (this.scope === undefined) {
      closeState(this.state);
      return true;
    }
    return Effect.runPromise(Scope.close(this.scope, Exit.void)).then(() => true, (e: unknown) => {
      diagnostic('error')(`vgi-rpc: a sticky session's finalizer failed: ${e instanceof Error ? e.message : String(e)}`);
      return true;
    });
  }
}

/** What a registry is told about released sessions (tests count releases). */
export interface SessionRegistryOptions {
  /** Called after each session's state was released. */
  readonly onRelease?: (entry: SessionEntry) => void;
  /** The clock (ms since the epoch); default Date.now. */
  readonly now?: () => number;
}

/** The second a session expires in (its bucket in `SessionRegistry.expiring`; the expiry its token carries). */
const expirySecond = (entry: SessionEntry): number => Math.ceil(entry.expiresAt / 1000);

/** The sticky sessions of one worker. */
export class SessionRegistry {
  /**
   * Live sessions by the second they expire in (`ceil(expiresAt / 1000)`,
   * as the token carries it), each bucket keyed by session id. Expiry is
   * absolute and fixed at open, so a lookup by id knows its bucket, a reap
   * visits only the buckets of the seconds that have begun, and a mass
   * expiry drops whole buckets instead of deleting entry by entry from one
   * big table (whose shrinking would allocate a new table, megabytes in the
   * old generation, at every halving: enough to bring a full collection).
   */
  private readonly expiring = new Map<number, Map<string, SessionEntry>>();
  /** Live sessions by the token this server sealed for them. */
  private readonly tokens = new Map<string, SessionEntry>();
  /** Sessions held: in a bucket and not yet released. */
  private held = 0;
  /** The reaper fiber, while the registry holds sessions (see startReaping). */
  private reaper: Fiber.RuntimeFiber<void> | undefined;
  private drainingFlag = false;
  private reaping = false;
  /** Sessions being opened whose state is still being acquired (see reserve). */
  private reservedOpens = 0;
  private readonly now: () => number;

  constructor(private readonly options: SessionRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Sessions held. */
  get size(): number {
    return this.held;
  }

  /** True while new sessions are refused (drain). */
  get draining(): boolean {
    return this.drainingFlag;
  }

  /**
   * Hold a place for a session about to be opened, unless `limit` sessions
   * are held or being opened already (then false); give it back with
   * `unreserve` once the session is registered or its opening failed.
   */
  reserve(limit: number | undefined): boolean {
    if (limit !== undefined && this.held + this.reservedOpens >= limit) return false;
    this.reservedOpens++;
    return true;
  }

  /** Give back a place `reserve` held. */
  unreserve(): void {
    this.reservedOpens--;
  }

  /** Refuse (true) or accept again (false) new sessions; existing ones keep serving either way. */
  setDraining(on: boolean): void {
    this.drainingFlag = on;
  }

  /**
   * Register a new session holding `state` for `ttlSeconds`. Given `scope`
   * (the state was acquired in it), closing that scope releases the state;
   * otherwise the state's `close()` method, if it has one, runs when the
   * session ends.
   */
  open(sessionId: Uint8Array, state: unknown, principalKey: string, ttlSeconds: number, acquiredIn?: Scope.CloseableScope): SessionEntry {
    const entry = new SessionEntry(hexOf(sessionId), state, principalKey, this.now() + ttlSeconds * 1000, acquiredIn);
    const second = expirySecond(entry);
    let bucket = this.expiring.get(second);
    if (bucket === undefined) this.expiring.set(second, (bucket = new Map()));
    bucket.set(entry.id, entry);
    this.held++;
    this.startReaping();
    return entry;
  }

  /** Remember `token`, the token sealed for `entry`, so that a client echoing it is known without opening it (see byToken). */
  bindToken(entry: SessionEntry, token: string): void {
    if (entry.isReleased || this.expiring.get(expirySecond(entry))?.get(entry.id) !== entry) return;
    entry.token = token;
    this.tokens.set(token, entry);
  }

  /**
   * The live session whose token, as this server sealed it, is exactly
   * `token`, or undefined (then the token is opened the full way). A string
   * this server sealed is authentic by construction, so a resume echoing it
   * costs no AEAD operation; the caller still checks that the session's
   * principal is the requester's (the token's associated data binds it).
   */
  byToken(token: string): SessionEntry | undefined {
    const entry = this.tokens.get(token);
    return entry === undefined ? undefined : this.live(entry);
  }

  /**
   * The live session `sessionId` names, its token saying it expires at
   * `expiresAt` (seconds since the epoch), or undefined (unknown, released,
   * or expired: an expired one is released now).
   */
  get(sessionId: Uint8Array, expiresAt: number): SessionEntry | undefined {
    const entry = this.expiring.get(expiresAt)?.get(hexOf(sessionId));
    return entry === undefined ? undefined : this.live(entry);
  }

  /** `entry` unless it was released or has expired (an expired one is released now). */
  private live(entry: SessionEntry): SessionEntry | undefined {
    if (entry.isReleased) return undefined;
    if (entry.expiresAt <= this.now()) {
      void this.remove(entry);
      return undefined;
    }
    return entry;
  }

  /** End `entry` (close, drain, expiry): released once, whoever asks first; settles once its state is released. */
  remove(entry: SessionEntry): Promise<void> {
    const second = expirySecond(entry);
    const bucket = this.expiring.get(second);
    if (bucket?.get(entry.id) === entry) {
      bucket.delete(entry.id);
      if (bucket.size === 0) this.expiring.delete(second);
    }
    return this.release(entry);
  }

  /** Release `entry` and forget its token (its bucket is the caller's business); settles once its state is released. */
  private release(entry: SessionEntry): Promise<void> {
    if (entry.token !== undefined && this.tokens.get(entry.token) === entry) this.tokens.delete(entry.token);
    const released = entry.release();
    if (released === false) return DONE;
    this.held--;
    if (released === true) {
      this.options.onRelease?.(entry);
      return DONE;
    }
    return released.then((r) => {
      if (r) this.options.onRelease?.(entry);
    });
  }

  /**
   * Release expired sessions no call is using (one in use ends after its
   * call: lookups already refuse it), in slices of about a millisecond with
   * the event loop let go between them, so a mass expiry holds no request up
   * for longer than one slice. Resolves once every state it released has
   * been released (scoped ones may finish after their slice).
   */
  async reap(): Promise<number> {
    if (this.reaping) return 0;
    this.reaping = true;
    try {
      const now = this.now();
      let released = 0;
      const pending: Promise<void>[] = [];
      // Only the seconds that have begun can hold expired sessions (a partly expired one is visited again next time).
      const current = Math.ceil(now / 1000);
      const due: [number, Map<string, SessionEntry>][] = [];
      for (const [second, bucket] of this.expiring) if (second <= current) due.push([second, bucket]);
      for (const [second, bucket] of due) {
        // A bucket's sessions are released where they stand, and the bucket is dropped (or replaced by one of
        // those left: not expired yet, or in a call) once swept: no entry-by-entry deletion from the bucket.
        const left: SessionEntry[] = [];
        // A background sweep: it rests as long as it works, leaving other threads a core (see inTimeSlices).
        await inTimeSlices(bucket.values(), (e) => {
          if (e.isReleased) return;
          if (e.expiresAt > now || e.busy) {
            left.push(e);
            return;
          }
          released++;
          const p = this.release(e);
          if (p !== DONE) pending.push(p);
        }, SLICE_MS, SLICE_MS);
        // Meanwhile a close may have emptied the bucket and dropped it: then there is nothing to keep.
        if (this.expiring.get(second) !== bucket) continue;
        const kept = left.filter((e) => !e.isReleased);
        if (kept.length === 0) this.expiring.delete(second);
        else this.expiring.set(second, new Map(kept.map((e) => [e.id, e])));
      }
      await Promise.all(pending);
      return released;
    } finally {
      this.reaping = false;
    }
  }

  /** Release every session (shutdown: calls still running were interrupted or finished by now). */
  async closeAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    const all: SessionEntry[] = [];
    for (const bucket of this.expiring.values()) for (const e of bucket.values()) all.push(e);
    await inTimeSlices(all, (e) => {
      pending.push(this.remove(e));
    });
    await Promise.all(pending);
    this.stopReaping();
  }

  /**
   * Fork the reaper fiber unless it runs: a reap every REAP_INTERVAL_MS
   * while the registry holds sessions. It ends by itself once the registry
   * is empty (the next open forks another), and closeAll interrupts it.
   */
  private startReaping(): void {
    if (this.reaper !== undefined) return;
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      // Checked and cleared in one step: an open after this forks a new reaper.
      if (this.held === 0) {
        this.reaper = undefined;
        return Effect.void;
      }
      return Effect.zipRight(idleSleep(REAP_INTERVAL_MS), Effect.flatMap(Effect.promise(() => this.reap()), () => loop));
    });
    this.reaper = Effect.runFork(loop);
  }

  private stopReaping(): void {
    const reaper = this.reaper;
    if (reaper === undefined) return;
    this.reaper = undefined;
    Effect.runFork(Fiber.interrupt(reaper));
  }
}
