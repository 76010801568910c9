import { z } from 'zod';
import { durationMs } from '../config/schema.js';

/**
 * Durations in rule files: the config's syntax (`30s`, `5m`, `2h`, `7d`, `1w`), turned into
 * milliseconds at validation so rule types only see numbers.
 */
export const durationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, 'a duration such as 30s, 5m, 2h, 7d or 1w')
  .transform((s) => durationMs(s));

/** A positive duration. */
export const positiveDuration = durationSchema.refine((ms) => ms > 0, 'must be longer than 0');

const UNITS: Array<[number, string]> = [
  [604_800_000, 'w'],
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1_000, 's'],
];

/** `300000` → `5m`; the largest unit that divides the value, for summaries. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  for (const [size, unit] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
