/**
 * Sweeps cut into time slices: every item is visited once, deleting the
 * visited entry from the Map being swept is safe, a sweep longer than its
 * budget lets the event loop run between slices, and with a rest between
 * slices the thread sleeps (leaves its core) for that long each time.
 */
import { describe, expect, it } from 'vitest';
import { inTimeSlices } from '../../transports/http/time-slices.js';

describe('inTimeSlices', () => {
  it('visits every entry of a Map once while the visit deletes some of them', async () => {
    const m = new Map(Array.from({ length: 10_000 }, (_, i) => [i, i % 3 === 0] as const));
    const seen: number[] = [];
    await inTimeSlices(m, ([k, drop]) => {
      seen.push(k);
      if (drop) m.delete(k);
    });
    expect(seen).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(m.size).toBe(10_000 - Math.ceil(10_000 / 3));
  });

  it('lets the event loop go when a slice runs past its budget, and not when the sweep fits in one', async () => {
    const busy = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) { /* spin */ }
    };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      // 64 items of 0.5 ms each against a 2 ms budget: at least a dozen slices.
      let immediates = 0;
      const sweep = inTimeSlices(Array.from({ length: 64 }, (_, i) => i), () => busy(0.5), 2);
      const count = (): void => {
        immediates++;
        if (immediates < 1_000) setImmediate(count);
      };
      setImmediate(count);
      await sweep;
      expect(immediates, 'nothing else ran during the sweep').toBeGreaterThan(5);
      // A short sweep (well under the budget) completes in one go: nothing runs in between.
      let ran = false;
      setImmediate(() => {
        ran = true;
      });
      await inTimeSlices([1, 2, 3], () => undefined, 1_000);
      expect(ran).toBe(false);
    } finally {
      clearInterval(timer);
    }
  });

  it('with a rest between slices, the sweep sleeps: each slice is followed by a pause of about the rest', async () => {
    const busy = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) { /* spin */ }
    };
    // When each visit began and ended: a pause is a gap between the end of one visit and the start of the next.
    const spans: [number, number][] = [];
    // 40 items of 0.5 ms against a 2 ms budget, resting 4 ms after each slice: about 10 slices and 9 rests.
    await inTimeSlices(Array.from({ length: 40 }, (_, i) => i), () => {
      const start = performance.now();
      busy(0.5);
      spans.push([start, performance.now()]);
    }, 2, 4);
    const gaps = spans.slice(1).map(([start], k) => start - spans[k]![1]);
    const rests = gaps.filter((g) => g >= 2.5);
    // A 4 ms timer fires after 3.4 ms at the soonest here (the event loop clocks it from its last tick), later on a
    // busy machine, where a preempted thread can also leave a gap of its own: so at least the rests, and not many more.
    expect(rests.length).toBeGreaterThanOrEqual(8);
    expect(rests.length).toBeLessThanOrEqual(20);
    // The thread ran the sweep for under half of the time the sweep took: the rest of it, it slept.
    const working = spans.reduce((n, [a, b]) => n + (b - a), 0);
    expect(working / (spans.at(-1)![1] - spans[0]![0])).toBeLessThan(0.5);
  });
});
