import { z } from 'zod';
import type { Event } from '../../../core/event.js';
import { formatDuration, positiveDuration } from '../../duration.js';
import type { FieldContext } from '../../fields.js';
import { type Predicate, compileFilter } from '../../filter.js';
import type { Detector, Hit, RuleType } from '../../types.js';
import { type Buckets, RESOLUTION, addTo, bucketWidth, newest, pruneBefore, sumRange } from '../../window.js';

/**
 * ratio — the share of a group's events (those passing `filter`) that also match `match`,
 * within a sliding window: e.g. the share of 403s among one key's requests. `min_count`
 * matching events are required first, so three 403s out of four requests are not a finding.
 */
export const ratioParams = {
  window: positiveDuration.describe('Sliding window length.'),
  match: z.unknown().optional().describe('Filter selecting the numerator events (same language as `filter`).'),
  min_ratio: z.number().gt(0).max(1).describe('Share of matching events (0-1] that makes a finding.'),
  min_count: z.number().int().min(1).describe('Matching events needed before the ratio counts.'),
};

export interface RatioParams {
  window: number;
  match: unknown;
  min_ratio: number;
  min_count: number;
}

interface State {
  /** Rows: [bucket, matching, total]. */
  b: Buckets;
}

export class RatioDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs: number;
  private readonly width: number;
  private readonly match: Predicate;

  constructor(private readonly p: RatioParams) {
    this.width = bucketWidth(p.window);
    this.shape = `ratio/${this.width}`;
    this.idleMs = p.window;
    this.match = compileFilter(p.match).predicate;
  }

  init(): State {
    return { b: [] };
  }

  observe(s: State, e: Event, t: number, ctx: FieldContext): Hit | undefined {
    const idx = Math.floor(t / this.width);
    const hit = this.match(e, ctx);
    addTo(s.b, idx, [hit ? 1 : 0, 1]);
    pruneBefore(s.b, newest(s.b) - RESOLUTION);
    if (!hit) return undefined;
    const matching = sumRange(s.b, idx - RESOLUTION + 1, idx, 0);
    const total = sumRange(s.b, idx - RESOLUTION + 1, idx, 1);
    const ratio = matching / total;
    if (matching < this.p.min_count || ratio < this.p.min_ratio) return undefined;
    const windowStart = Math.floor(t / this.p.window) * this.p.window;
    const window = formatDuration(this.p.window);
    const pct = `${Math.round(ratio * 1000) / 10}%`;
    return {
      windowKey: String(windowStart),
      windowStart,
      vars: { count: matching, total, ratio: Math.round(ratio * 1000) / 1000, percent: pct, min_ratio: this.p.min_ratio, window },
      why: `${matching} of ${total} events (${pct}) within ${window} matched, at least ${this.p.min_count} and ${this.p.min_ratio * 100}% required`,
      evidence: { count: matching, total, ratio, threshold: this.p.min_ratio, min_count: this.p.min_count, window },
    };
  }

  isEmpty(s: State, wm: number): boolean {
    return newest(s.b) < Math.floor(wm / this.width) - RESOLUTION;
  }
}

export const ratio: RuleType<RatioParams> = {
  params: ratioParams,
  summary: '{percent} of the requests of {key} within {window} matched ({count} of {total}).',
  vars: ['count', 'total', 'ratio', 'percent', 'min_ratio', 'window'],
  check(p) {
    if (p.match === undefined) return [{ path: ['match'], message: 'ratio needs a `match` filter for the numerator' }];
    return compileFilter(p.match).issues.map((i) => ({ path: ['match', ...i.path], message: i.message }));
  },
  create: (p) => new RatioDetector(p),
};
