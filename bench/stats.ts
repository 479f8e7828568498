/**
 * Small statistics helpers for benchmarks: percentiles and medians.
 */

/** The p-th percentile (0..100) of `values` (nearest-rank). */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
};

/** The median of `values`. */
export const median = (values: readonly number[]): number => percentile(values, 50);

/** Run `f` (which makes `count` calls) once: calls per second of wall time, and this process's CPU µs per call. */
export const timeCalls = async (count: number, f: () => Promise<unknown>): Promise<{ perSec: number; cpuUs: number }> => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSec: count / wall, cpuUs: (cpu.user + cpu.system) / count };
};
