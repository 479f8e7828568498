/**
 * The call-state cache of one worker: the live streams it owns between HTTP
 * requests, keyed by (call id, identity, protocol), each kept for the token
 * TTL after its last turn. A continuation finds its stream here (the front
 * end routes it to this worker); an expired or drained entry is closed, so
 * the stream's Scope releases what its handler acquired.
 */
import type { DetachedStream } from '../../src/protocol/stream-protocol.js';
import type { InterruptReason } from '../../src/protocol/call-scope.js';

/** One live stream and what its continuations are checked against. */
export interface CachedCall {
  readonly stream: DetachedStream;
  /** The call token minted at /init (echoed on every continuation). */
  readonly callToken: string;
  /** The response limit sealed at /init: a continuation may tighten it, never raise it. */
  readonly responseLimit: number | undefined;
  /** When the entry expires (ms since the epoch), pushed back by each turn. */
  expiresAt: number;
}

const key = (callId: string, identity: string, protocol: string): string => `${callId}\u0000${identity}\u0000${protocol}`;

/** Live streams by (call id, identity, protocol), with a TTL. */
export class CallStateCache {
  private readonly entries = new Map<string, CachedCall>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  /** `ttlMs` 0 keeps entries until their stream ends or the cache is closed. */
  constructor(private readonly ttlMs: number, private readonly maxEntries = 4096) {}

  /** Streams held. */
  get size(): number {
    return this.entries.size;
  }

  /** Keep `entry`; when full, the entry idle longest is closed to make room. */
  put(callId: string, identity: string, protocol: string, entry: Omit<CachedCall, 'expiresAt'>): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.entries().next().value as [string, CachedCall] | undefined;
      if (oldest !== undefined) this.evict(oldest[0], oldest[1], { _tag: 'shutdown', detail: 'the call-state cache is full' });
    }
    this.entries.set(key(callId, identity, protocol), { ...entry, expiresAt: this.expiry() });
    this.startSweeping();
  }

  /** The live stream of a call, if this worker holds it and it has not expired. */
  get(callId: string, identity: string, protocol: string): CachedCall | undefined {
    const k = key(callId, identity, protocol);
    const e = this.entries.get(k);
    if (e === undefined) return undefined;
    if (this.ttlMs > 0 && e.expiresAt <= Date.now() && !e.stream.busy) {
      this.evict(k, e, { _tag: 'shutdown', detail: 'the stream expired' });
      return undefined;
    }
    // Most recently used last: the first entry is the one idle longest.
    this.entries.delete(k);
    this.entries.set(k, e);
    e.expiresAt = this.expiry();
    return e;
  }

  /** Close and forget a call's live stream (superseded by the state a continuation carries). */
  discard(callId: string, identity: string, protocol: string, reason: InterruptReason): void {
    const k = key(callId, identity, protocol);
    const e = this.entries.get(k);
    if (e !== undefined) this.evict(k, e, reason);
  }

  /** Forget a call whose stream has ended. */
  delete(callId: string, identity: string, protocol: string): void {
    this.entries.delete(key(callId, identity, protocol));
    if (this.entries.size === 0) this.stopSweeping();
  }

  /** Close every stream (drain, shutdown) with `reason`. */
  async closeAll(reason: InterruptReason): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.stopSweeping();
    await Promise.all(all.map((e) => e.stream.close(reason)));
  }

  private expiry(): number {
    return this.ttlMs > 0 ? Date.now() + this.ttlMs : Number.POSITIVE_INFINITY;
  }

  private evict(k: string, e: CachedCall, reason: InterruptReason): void {
    this.entries.delete(k);
    void e.stream.close(reason);
  }

  private startSweeping(): void {
    if (this.sweeper !== undefined || this.ttlMs <= 0) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, e] of this.entries) if (e.expiresAt <= now && !e.stream.busy) this.evict(k, e, { _tag: 'shutdown', detail: 'the stream expired' });
      if (this.entries.size === 0) this.stopSweeping();
    }, Math.min(this.ttlMs, 1000));
    this.sweeper.unref();
  }

  private stopSweeping(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
