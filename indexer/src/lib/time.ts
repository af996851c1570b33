/** Time buckets for rollups, from a block timestamp in unix seconds. */
export const PERIODS = { hour: 3600n, day: 86_400n } as const;
export type Period = keyof typeof PERIODS;

export function bucketOf(timestamp: bigint, period: Period): bigint {
  return timestamp - (timestamp % PERIODS[period]);
}
