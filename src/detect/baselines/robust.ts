import { median, medianAbsoluteDeviation } from 'simple-statistics';

/**
 * Robust statistics for per-key baselines. Median and MAD (median absolute deviation) ignore
 * the odd outlier in a key's history, where mean and standard deviation would be dragged by
 * it; 1.4826 × MAD estimates the standard deviation of normally distributed data.
 */
export const MAD_TO_SIGMA = 1.4826;

export interface BoundOptions {
  /** Robust z-score above which a value is anomalous. */
  z: number;
  /** The value must also be at least this many times the median (growth tolerance). */
  minRatio: number;
  /** And at least this large in absolute terms (quiet keys). */
  minValue: number;
  /** Counts are Poisson-like: their spread is at least √median even when MAD is 0. */
  counts: boolean;
}

export interface Bound {
  median: number;
  mad: number;
  /** Spread used for the z-score: max(1.4826·MAD, √median for counts, 1). */
  sigma: number;
  /** Smallest anomalous value: max(median + z·sigma, minRatio·median, minValue). */
  upper: number;
}

/** The anomaly bound of a reference sample. `samples` must not be empty. */
export function robustBound(samples: readonly number[], o: BoundOptions): Bound {
  const med = median(samples as number[]);
  const mad = samples.length > 1 ? medianAbsoluteDeviation(samples as number[]) : 0;
  const sigma = Math.max(MAD_TO_SIGMA * mad, o.counts ? Math.sqrt(med) : 0, 1);
  const upper = Math.max(med + o.z * sigma, o.minRatio * med, o.minValue);
  return { median: med, mad, sigma, upper };
}

/** Robust z-score of a value against a bound. */
export function robustZ(value: number, b: Bound): number {
  return (value - b.median) / b.sigma;
}

/** Exponentially weighted moving average step; the first value seeds it. */
export function ewma(previous: number | null, value: number, alpha: number): number {
  return previous === null ? value : alpha * value + (1 - alpha) * previous;
}

/**
 * Scale a past sample to today's level: a key whose traffic grew steadily 40% in a month
 * should be compared with its history grown by 40%, not flagged. The factor is the ratio of
 * the EWMA levels now and then, clamped to [1/cap, cap] so a burst cannot excuse itself.
 */
export function growthScaled(value: number, levelThen: number, levelNow: number, cap: number): number {
  if (levelThen <= 0 || levelNow <= 0) return value;
  const factor = Math.min(cap, Math.max(1 / cap, levelNow / levelThen));
  return value * factor;
}
