/**
 * The service the sticky-session HTTP bench (bench/sticky-http.ts) serves:
 * sessions holding a small counter, a resume that bumps it, and per-thread
 * probes the bench reads through a session it holds on each worker (its
 * heap after a full GC, the sessions the thread holds, the longest
 * event-loop stall while armed).
 */
import { readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import * as Effect from 'effect/Effect';
import { CallContext, Errors, Method, Service, T } from '../src/index.js';

/** The bench's protocol. */
export const StickyBench = Service.define('StickyBench', {}, {
  /** Open a session holding a counter; `expires_at_ms` > 0: it expires at that instant (ms since the epoch) instead of after the server's default TTL. Returns the thread holding it. */
  open: Method.unary({ params: { expires_at_ms: T.int64 }, result: T.int64 }),
  /** The resume: bump the session's counter; returns it. */
  touch: Method.unary({ params: {}, result: T.int64 }),
  /** No session: the stateless call the resume is compared with. */
  ping: Method.unary({ params: {}, result: T.int64 }),
  /** This thread's V8 heap in use after a full GC (needs node --expose-gc; -1 without). */
  heap: Method.unary({ params: {}, result: T.int64 }),
  /** Sessions this thread holds (opened and not yet released). */
  held: Method.unary({ params: {}, result: T.int64 }),
  /** `arm`: start watching this thread's event loop (a 1 ms timer's lateness); otherwise stop and return what was seen, a StallSummary as JSON. */
  stall: Method.unary({ params: { arm: T.bool }, result: T.utf8 }),
});

/** A session's state: one counter and a close() the registry calls when the session ends. */
class Counter {
  value = 0n;
  close(): void {
    held--;
  }
}

let held = 0;

/**
 * What a StallWatch saw: the worst lateness, how many ticks were late by
 * more than 5 ms and by more than 2 ms, and how many ticks there were; and,
 * to tell the causes apart, this thread's GC pauses (worst, how many over
 * 5 ms, total) and its time runnable but without a core (run-queue wait,
 * /proc/thread-self/schedstat; 0 where the kernel keeps no schedstats).
 */
export interface StallSummary {
  readonly worst_ms: number;
  readonly over_5ms: number;
  readonly over_2ms: number;
  readonly ticks: number;
  readonly gc_worst_ms: number;
  /** The kind of that worst GC pause (major, minor, incremental, weakcb; '' when none). */
  readonly gc_worst_kind: string;
  readonly gc_over_5ms: number;
  readonly gc_ms: number;
  readonly runqueue_ms: number;
}

/** This thread's run-queue wait so far, ms. */
const runQueueMs = (): number => {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1] ?? 0) / 1e6;
  } catch {
    return 0;
  }
};

/** A GC entry's kind by name (perf_hooks' NODE_PERFORMANCE_GC_* flags). */
const gcKind = (kind: number | undefined): string => {
  const { NODE_PERFORMANCE_GC_MAJOR, NODE_PERFORMANCE_GC_MINOR, NODE_PERFORMANCE_GC_INCREMENTAL, NODE_PERFORMANCE_GC_WEAKCB } = constants;
  if (kind === NODE_PERFORMANCE_GC_MAJOR) return 'major';
  if (kind === NODE_PERFORMANCE_GC_MINOR) return 'minor';
  if (kind === NODE_PERFORMANCE_GC_INCREMENTAL) return 'incremental';
  if (kind === NODE_PERFORMANCE_GC_WEAKCB) return 'weakcb';
  return String(kind ?? '');
};

/** Watches the event loop of the thread it runs on: the lateness of a 1 ms interval timer while armed. */
export class StallWatch {
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = 0;
  private worst = 0;
  private over5 = 0;
  private over2 = 0;
  private ticks = 0;
  private gcWorst = 0;
  private gcWorstKind = '';
  private gcOver5 = 0;
  private gcTotal = 0;
  private waited0 = 0;
  private observer: PerformanceObserver | undefined;

  /** Start watching (from zero). */
  arm(): void {
    this.disarm();
    this.worst = 0;
    this.over5 = 0;
    this.over2 = 0;
    this.ticks = 0;
    this.gcWorst = 0;
    this.gcWorstKind = '';
    this.gcOver5 = 0;
    this.gcTotal = 0;
    this.waited0 = runQueueMs();
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration > this.gcWorst) {
          this.gcWorst = e.duration;
          this.gcWorstKind = gcKind((e as { readonly detail?: unknown } as { readonly detail?: { readonly kind?: number } }).detail?.kind);
        }
        if (e.duration > 5) this.gcOver5++;
        this.gcTotal += e.duration;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.last - 1;
      this.worst = Math.max(this.worst, late);
      if (late > 5) this.over5++;
      if (late > 2) this.over2++;
      this.ticks++;
      this.last = now;
    }, 1);
    this.timer.unref();
  }

  /** Stop watching; what was seen. */
  disarm(): StallSummary {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
    return {
      worst_ms: this.worst, over_5ms: this.over5, over_2ms: this.over2, ticks: this.ticks,
      gc_worst_ms: this.gcWorst, gc_worst_kind: this.gcWorstKind, gc_over_5ms: this.gcOver5, gc_ms: this.gcTotal, runqueue_ms: runQueueMs() - this.waited0,
    };
  }
}

const watch = new StallWatch();
const gc = (globalThis as { gc?: () => void }).gc;

/** StickyBench handlers. */
export const StickyBenchLive = StickyBench.toLayer({
  open: ({ expires_at_ms }) => Effect.flatMap(CallContext, (ctx) => {
    const ttl = expires_at_ms > 0n ? (Number(expires_at_ms) - Date.now()) / 1000 : undefined;
    if (ttl !== undefined && !(ttl > 0)) return Effect.fail(Errors.value(`expires_at_ms is in the past by ${-ttl} s`));
    return Effect.map(ctx.openSession(new Counter(), ttl), () => {
      held++;
      return BigInt(threadId);
    });
  }),
  touch: () => Effect.flatMap(CallContext, (ctx) =>
    ctx.session instanceof Counter ? Effect.succeed(++ctx.session.value) : Effect.fail(Errors.runtime('no session bound to this request'))),
  ping: () => Effect.succeed(1n),
  heap: () => Effect.sync(() => {
    if (gc === undefined) return -1n;
    gc();
    gc();
    return BigInt(process.memoryUsage().heapUsed);
  }),
  held: () => Effect.sync(() => BigInt(held)),
  stall: ({ arm }) => Effect.sync(() => {
    if (arm) {
      watch.arm();
      return '';
    }
    return JSON.stringify(watch.disarm());
  }),
});
