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
