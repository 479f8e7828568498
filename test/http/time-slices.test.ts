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

  it('with a rest between slices, the sweep sleeps: its thread uses a fraction of the wall time it takes', async () => {
    const busy = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) { /* spin */ }
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // 40 items of 0.5 ms against a 2 ms budget, resting 4 ms after each slice: about 10 slices and 9 rests.
    await inTimeSlices(Array.from({ length: 40 }, (_, i) => i), () => busy(0.5), 2, 4);
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000;
    // Working alone it would take ~20 ms of CPU and as much wall time; the rests add ~36 ms of sleep.
    expect(wall).toBeGreaterThan(50);
    expect(cpu / wall).toBeLessThan(0.8);
  });
});
