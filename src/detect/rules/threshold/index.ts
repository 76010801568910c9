import { z } from 'zod';
import { formatDuration, positiveDuration } from '../../duration.js';
import type { Detector, Hit, RuleType } from '../../types.js';
import { type Buckets, RESOLUTION, addTo, bucketWidth, newest, pruneBefore, sumRange } from '../../window.js';

/**
 * threshold — at least `threshold` matching events of one group within a sliding `window`.
 * Fires on the event that reaches the threshold.
 */
export const thresholdParams = {
  window: positiveDuration.describe('Sliding window length.'),
  threshold: z.number().int().min(1).max(10_000_000).describe('Events in the window that make a finding.'),
};

export interface ThresholdParams {
  window: number;
  threshold: number;
}

interface State {
  b: Buckets;
}

export class ThresholdDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs: number;
  private readonly width: number;

  constructor(private readonly p: ThresholdParams) {
    this.width = bucketWidth(p.window);
    this.shape = `threshold/${this.width}`;
    this.idleMs = p.window;
  }

  init(): State {
    return { b: [] };
  }

  observe(s: State, _e: unknown, t: number): Hit | undefined {
    const idx = Math.floor(t / this.width);
    addTo(s.b, idx, [1]);
    pruneBefore(s.b, newest(s.b) - RESOLUTION);
    const count = sumRange(s.b, idx - RESOLUTION + 1, idx);
    if (count < this.p.threshold) return undefined;
    const windowStart = Math.floor(t / this.p.window) * this.p.window;
    const window = formatDuration(this.p.window);
    return {
      windowKey: String(windowStart),
      windowStart,
      vars: { count, threshold: this.p.threshold, window },
      why: `${count} matching events within ${window} reached the threshold of ${this.p.threshold}`,
      evidence: { count, threshold: this.p.threshold, window },
    };
  }

  isEmpty(s: State, wm: number): boolean {
    return newest(s.b) < Math.floor(wm / this.width) - RESOLUTION;
  }
}

export const threshold: RuleType<ThresholdParams> = {
  params: thresholdParams,
  summary: '{key} made {count} matching requests within {window} (threshold {threshold}).',
  vars: ['count', 'threshold', 'window'],
  create: (p) => new ThresholdDetector(p),
};
