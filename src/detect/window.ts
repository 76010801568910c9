/**
 * Sliding windows as sparse time buckets: a JSON-friendly list of `[bucketIndex, v0, v1, …]`
 * rows in ascending index order. A window of length W is kept as RESOLUTION buckets of W /
 * RESOLUTION each, so memory per group is bounded whatever the event rate, and an event that
 * arrives out of order (within the engine's lateness bound) still lands in its own bucket.
 * The price is resolution: a window's effective length is between (1 - 1/RESOLUTION)·W and W.
 */
export type Buckets = number[][];

export const RESOLUTION = 60;

/** Bucket width for a window: W / RESOLUTION, at least 1 second. */
export function bucketWidth(windowMs: number, resolution = RESOLUTION): number {
  return Math.max(1_000, Math.floor(windowMs / resolution));
}

/** Add `values` to bucket `idx`, creating it in order. Late buckets are rare and near the end. */
export function addTo(buckets: Buckets, idx: number, values: readonly number[]): void {
  let i = buckets.length - 1;
  while (i >= 0 && buckets[i]![0]! > idx) i--;
  let row = i >= 0 && buckets[i]![0] === idx ? buckets[i] : undefined;
  if (!row) {
    row = [idx, ...values.map(() => 0)];
    buckets.splice(i + 1, 0, row);
  }
  for (let k = 0; k < values.length; k++) row[k + 1]! += values[k]!;
}

/** Sum of value `slot` over buckets with index in [from, to]. */
export function sumRange(buckets: Buckets, from: number, to: number, slot = 0): number {
  let sum = 0;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const row = buckets[i]!;
    const idx = row[0]!;
    if (idx < from) break;
    if (idx <= to) sum += row[slot + 1]!;
  }
  return sum;
}

/** Drop buckets with index below `minIdx`. */
export function pruneBefore(buckets: Buckets, minIdx: number): void {
  let n = 0;
  while (n < buckets.length && buckets[n]![0]! < minIdx) n++;
  if (n > 0) buckets.splice(0, n);
}

/** Index of the newest bucket, or -Infinity when empty. */
export function newest(buckets: Buckets): number {
  return buckets.length ? buckets[buckets.length - 1]![0]! : -Infinity;
}
