/**
 * Long sweeps over big tables (reaping 100,000 expired sessions, forgetting
 * their owners) cut into slices of about a millisecond of wall time with the
 * event loop let go between them, so requests arriving meanwhile wait for
 * one slice at most. Slices are bounded by time, not by a count: the first
 * slices of a sweep run cold code and can be ten times slower per item.
 */

/** Wall time one slice may take, ms. */
export const SLICE_MS = 1;

/** Items visited between two looks at the clock (a slice overruns its budget by at most this many items less one). */
const CLOCK_EVERY = 4;

const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Sleep `ms` (the thread leaves its core: other threads of the process can run there). */
const rest = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Call `visit` on every item of `items` (a Map's iterator survives
 * deletions and additions made while it is paused), letting the event loop
 * go whenever `budgetMs` of wall time has passed since the slice began.
 * With `restMs`, the sweep also sleeps that long between slices: a
 * background sweep then takes at most about half of a core, so on a small
 * machine it does not starve the process's other threads (the front end
 * of a 2-core host whose two workers reap at the same instant).
 */
export const inTimeSlices = async <T>(items: Iterable<T>, visit: (item: T) => void, budgetMs: number = SLICE_MS, restMs = 0): Promise<void> => {
  let deadline = performance.now() + budgetMs;
  let n = 0;
  for (const item of items) {
    visit(item);
    if (++n % CLOCK_EVERY === 0 && performance.now() >= deadline) {
      await (restMs > 0 ? rest(restMs) : yieldToEventLoop());
      deadline = performance.now() + budgetMs;
    }
  }
};
