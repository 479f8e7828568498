/**
 * Sticky-session registry costs, in one process (run with --expose-gc):
 *
 * 1. memory per idle session beyond its own state: the heap after opening
 *    100,000 sessions (each holding a one-field object with a `close()`),
 *    minus the heap holding the same 100,000 state objects alone, per
 *    session;
 * 2. reaping 100,000 expired sessions: the time `reap()` takes to release
 *    them all, and the longest the event loop was held meanwhile (a 1 ms
 *    timer's worst lateness), which is how long a request would wait;
 *    beside the same measure over a window with nothing to reap (idle), and
 *    over the same CPU time of dummy work cut into the same slices: a busy
 *    thread on a shared machine is preempted for milliseconds at a time.
 *
 *   node --expose-gc dist/bench/sticky-registry.js [sessions]
 */
import { performance } from 'node:perf_hooks';
import { SessionRegistry } from '../transports/http/session-registry.js';
import { inTimeSlices } from '../transports/http/time-slices.js';

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** A session state as small as a real one gets: one field and a close(). */
class State {
  closed = false;
  constructor(readonly n: number) {}
  close(): void {
    this.closed = true;
  }
}

/** Session ids are made as they are opened: an array of them made beforehand would be counted in the baseline and freed (dead) once the loop ends. */
const idOf = (i: number): Uint8Array => {
  const id = new Uint8Array(12);
  new DataView(id.buffer).setUint32(0, i);
  return id;
};

// 1. Memory.
const base = heap();
let states: State[] = Array.from({ length: N }, (_, i) => new State(i));
const statesOnly = heap() - base;
let clock = 0;
const registry = new SessionRegistry({ now: () => clock });
for (let i = 0; i < N; i++) registry.open(idOf(i), states[i], '', 60);
states = [];
const withRegistry = heap() - base;
const perSession = (withRegistry - statesOnly) / N;
console.log(`sessions: ${N}`);
console.log(`heap: states alone ${(statesOnly / 1048576).toFixed(1)} MiB, in the registry ${(withRegistry / 1048576).toFixed(1)} MiB`);
console.log(`per idle session beyond its state: ${perSession.toFixed(0)} B (${((1 << 30) / perSession / 1e6).toFixed(2)} M sessions per GiB)`);

// 2. Reaping all of them at once, beside a control window of the same length with nothing to reap (this machine is shared: its own noise).
/** Event-loop stalls (lateness of a 1 ms interval timer, ms) while `work` runs, then 20 ms more. */
const stallsDuring = async (work: () => Promise<unknown>): Promise<number[]> => {
  const gaps: number[] = [];
  let last = performance.now();
  const monitor = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last - 1);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  gaps.length = 0;
  await work();
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(monitor);
  return gaps;
};
const summary = (gaps: readonly number[]): string =>
  `longest event-loop stall ${Math.max(0, ...gaps).toFixed(1)} ms, ${gaps.filter((g) => g > 5).length} stalls over 5 ms, ${gaps.filter((g) => g > 2).length} over 2 ms`;
let took = 0;
let reaped = 0;
const reaping = await stallsDuring(async () => {
  clock = 120_000;
  const t0 = performance.now();
  reaped = await registry.reap();
  took = performance.now() - t0;
});
const control = await stallsDuring(() => new Promise((r) => setTimeout(r, Math.max(took, 50))));
// The same CPU-bound work in the same slices, with nothing of the registry: on a shared machine a busy thread is preempted for
// milliseconds at a time, which an idle one (the control above) is not.
const spin = (us: number): void => {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) { /* spin */ }
};
const busyControl = await stallsDuring(() => inTimeSlices(Array.from({ length: reaped }, (_, i) => i), () => spin((took * 1000) / reaped)));
console.log(`reap: ${reaped} sessions released in ${took.toFixed(0)} ms (${((took * 1000) / reaped).toFixed(2)} µs each); ${summary(reaping)}`);
console.log(`control (nothing to reap, ${Math.max(took, 50).toFixed(0)} ms idle): ${summary(control)}`);
console.log(`control (the same time of dummy CPU work in the same 1 ms slices): ${summary(busyControl)}`);
