/**
 * The sticky sessions one worker holds. Each session is a small actor: its
 * state, an absolute expiry (no sliding refresh), a Scope whose finalizers
 * release the state exactly once (close, expiry, drain, shutdown: whichever
 * comes first), and a lock that serializes the session's calls (held for
 * the whole of one request, released however the call ends). A timer reaps
 * expired sessions every second; a lookup also refuses an expired one at
 * once, so expiry may be late, never early.
 */
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Scope from 'effect/Scope';

/** How often expired sessions are reaped. */
const REAP_INTERVAL_MS = 1000;
/** Sessions released per turn of the event loop while reaping (about a millisecond of work). */
const REAP_SLICE = 100;
/** Sessions looked at per turn of the event loop while reaping. */
const VISIT_SLICE = 5000;

/** One session: its state, owner, expiry, lifetime scope and call lock. */
export class SessionEntry {
  private released = false;
  private tail: Promise<void> = Promise.resolve();
  private holders = 0;

  constructor(
    /** The session id, 24 hex digits. */
    readonly id: string,
    readonly state: unknown,
    /** Who opened it (`''`: anonymous): only the same caller may resume it. */
    readonly principalKey: string,
    /** Absolute expiry, milliseconds since the epoch. */
    readonly expiresAt: number,
    private readonly scope: Scope.CloseableScope,
  ) {}

  /** True once the state was released. */
  get isReleased(): boolean {
    return this.released;
  }

  /** True while a call holds (or waits for) the lock. */
  get busy(): boolean {
    return this.holders > 0;
  }

  /** Wait for the session's lock; the returned function gives it back (call it exactly once). */
  async lock(): Promise<() => void> {
    this.holders++;
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const before = this.tail;
    this.tail = before.then(() => mine);
    await before;
    return () => {
      this.holders--;
      unlock();
    };
  }

  /** Close the scope (the state's finalizers run) unless it was closed already; true when this call released it. */
  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    await Effect.runPromise(Scope.close(this.scope, Exit.void));
    return true;
  }
}

/** What a registry is told about released sessions (tests count releases). */
export interface SessionRegistryOptions {
  /** Called after each session's state was released. */
  readonly onRelease?: (entry: SessionEntry) => void;
  /** The clock (ms since the epoch); default Date.now. */
  readonly now?: () => number;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The sticky sessions of one worker. */
export class SessionRegistry {
  private readonly entries = new Map<string, SessionEntry>();
  private reaper: ReturnType<typeof setInterval> | undefined;
  private drainingFlag = false;
  private reaping = false;
  private readonly now: () => number;

  constructor(private readonly options: SessionRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Sessions held. */
  get size(): number {
    return this.entries.size;
  }

  /** True while new sessions are refused (drain). */
  get draining(): boolean {
    return this.drainingFlag;
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
    const scope = acquiredIn ?? Effect.runSync(Scope.make());
    const close = (state as { close?: unknown } | null | undefined)?.close;
    if (acquiredIn === undefined && typeof close === 'function') {
      Effect.runSync(Scope.addFinalizer(scope, Effect.sync(() => {
        (close as () => void).call(state);
      })));
    }
    const entry = new SessionEntry(hexOf(sessionId), state, principalKey, this.now() + ttlSeconds * 1000, scope);
    this.entries.set(entry.id, entry);
    this.startReaping();
    return entry;
  }

  /** The live session `sessionId` names, or undefined (unknown, released, or expired: an expired one is released now). */
  get(sessionId: Uint8Array): SessionEntry | undefined {
    const entry = this.entries.get(hexOf(sessionId));
    if (entry === undefined || entry.isReleased) return undefined;
    if (entry.expiresAt <= this.now()) {
      void this.remove(entry);
      return undefined;
    }
    return entry;
  }

  /** End `entry` (close, drain): released once, whoever asks first. */
  async remove(entry: SessionEntry): Promise<void> {
    if (this.entries.get(entry.id) === entry) this.entries.delete(entry.id);
    if (await entry.release()) this.options.onRelease?.(entry);
  }

  /**
   * Release expired sessions no call is using (one in use ends after its
   * call: lookups already refuse it), a slice at a time with the event loop
   * let go between slices, so a mass expiry never holds requests up for long.
   */
  async reap(): Promise<number> {
    if (this.reaping) return 0;
    this.reaping = true;
    try {
      const now = this.now();
      let released = 0;
      let visited = 0;
      let slice: SessionEntry[] = [];
      const flush = async (): Promise<void> => {
        released += slice.length;
        await Promise.all(slice.map((e) => this.remove(e)));
        slice = [];
        visited = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      };
      // A Map iterator survives deletions and additions made while it is paused.
      for (const e of this.entries.values()) {
        if (e.expiresAt <= now && !e.busy) slice.push(e);
        if (slice.length >= REAP_SLICE || ++visited >= VISIT_SLICE) await flush();
      }
      if (slice.length > 0) await flush();
      if (this.entries.size === 0) this.stopReaping();
      return released;
    } finally {
      this.reaping = false;
    }
  }

  /** Release every session (shutdown: calls still running were interrupted or finished by now). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.remove(e)));
    this.stopReaping();
  }

  private startReaping(): void {
    if (this.reaper !== undefined) return;
    this.reaper = setInterval(() => void this.reap(), REAP_INTERVAL_MS);
    this.reaper.unref();
  }

  private stopReaping(): void {
    if (this.reaper === undefined) return;
    clearInterval(this.reaper);
    this.reaper = undefined;
  }
}
