/**
 * Log-spaced latency histogram: bucket 0 holds [0, 1) ms, bucket b ≥ 1 holds [1.1^(b-1), 1.1^b) ms,
 * so any percentile read from it is within 10 % of the truth, over any range, with ~250 rows at most.
 * Counts are upserted by handlers, so a reorg reverts them like any other write.
 */
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);

export function latencyBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.floor(Math.log(ms) / LOG_GROWTH) + 1;
}

/** Upper bound (ms) of a bucket: what a percentile falling in it is reported as. */
export function bucketUpperMs(bucket: number): number {
  return bucket === 0 ? 1 : Math.round(GROWTH ** bucket);
}

/** The `q` quantile (0..1) from histogram rows; null when empty. */
export function quantileFromHistogram(rows: readonly { bucket: number; count: number }[], q: number): number | null {
  const sorted = [...rows].filter((r) => r.count > 0).sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((n, r) => n + r.count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const r of sorted) {
    seen += r.count;
    if (seen >= rank) return bucketUpperMs(r.bucket);
  }
  return bucketUpperMs(sorted[sorted.length - 1]!.bucket);
}
