/** Quantiles for the benchmarks, by the nearest-rank method (the smallest value with at least q of all at or below it). */

/** The q quantile (0..1) of values already in ascending order. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The p-th percentile (0..100) of values in any order (sorts a copy). */
export function pct(values: ArrayLike<number>, p: number): number {
  return percentile(Float64Array.from(values).sort(), p / 100);
}
