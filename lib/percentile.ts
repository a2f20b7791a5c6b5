/**
 * Nearest-rank percentile (p in [0, 1]) of numbers sorted ascending: the smallest value with at least
 * p of the values at or below it. The one definition behind every p50 / p95 deltasim prints.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('nearestRank: no values');
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Nearest-rank percentile (p in [0, 1]) of unsorted numbers (copied, then sorted). */
export function percentile(xs: ArrayLike<number>, p: number): number {
  return nearestRank(Float64Array.from(xs).sort(), p);
}
