import { z } from 'zod';
import type { Event } from '../../../core/event.js';
import { durationSchema, formatDuration, positiveDuration } from '../../duration.js';
import { type FieldContext, fieldGetter, fieldKind } from '../../fields.js';
import type { Detector, Hit, RuleType } from '../../types.js';
import { type Buckets, addTo, newest, pruneBefore, sumRange } from '../../window.js';

/**
 * spike — the current window against the reference period just before it: fires when the
 * current count (or sum of `sum`) is at least `factor` times what the reference rate predicts
 * for one window, and at least `min_count`. A group younger than `min_history` never fires,
 * so a key's first minutes are not all "spikes". With a short history the reference rate uses
 * the time actually observed. `compare: peak` takes the busiest reference bucket's rate
 * instead of the mean, so a key that writes only a few hours a day is not a spike every
 * morning.
 */
export const spikeParams = {
  window: positiveDuration.describe('Current window length.'),
  reference: positiveDuration.describe('Reference period just before the current window.'),
  factor: z.number().gt(1).describe('How many times the expected value makes a spike.'),
  min_count: z.number().min(1).describe('Smallest current value that may be a spike.'),
  min_history: durationSchema.default(0).describe('Age of the group before it may fire.'),
  compare: z
    .enum(['mean', 'peak'])
    .default('mean')
    .describe('Expected value from the mean rate of the reference period, or from its busiest half-hour (for keys busy only part of the day).'),
  sum: z.string().optional().describe('Numeric field to sum instead of counting events (e.g. http.response.body.bytes).'),
};

export interface SpikeParams {
  window: number;
  reference: number;
  factor: number;
  min_count: number;
  min_history: number;
  compare: 'mean' | 'peak';
  sum?: string | undefined;
}

interface State {
  /** First event time of the group. */
  f: number;
  /** Current window, fine buckets. */
  c: Buckets;
  /** Reference period, coarse buckets. */
  r: Buckets;
}

const FINE = 20;
const COARSE = 48;

export class SpikeDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs: number;
  private readonly fine: number;
  private readonly coarse: number;
  private readonly get: ReturnType<typeof fieldGetter> | undefined;

  constructor(private readonly p: SpikeParams) {
    this.fine = Math.max(1_000, Math.floor(p.window / FINE));
    this.coarse = Math.max(this.fine, Math.floor(p.reference / COARSE));
    this.get = p.sum ? fieldGetter(p.sum) : undefined;
    this.shape = `spike/${this.fine}/${this.coarse}/${p.sum ?? 'count'}`;
    this.idleMs = p.window + p.reference;
  }

  init(t: number): State {
    return { f: t, c: [], r: [] };
  }

  private value(e: Event, ctx: FieldContext): number {
    if (!this.get) return 1;
    const v = this.get(e, ctx);
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  }

  observe(s: State, e: Event, t: number, ctx: FieldContext): Hit | undefined {
    const v = this.value(e, ctx);
    if (t < s.f) s.f = t;
    const fi = Math.floor(t / this.fine);
    const ci = Math.floor(t / this.coarse);
    addTo(s.c, fi, [v]);
    addTo(s.r, ci, [v]);
    const fineSpan = Math.ceil(this.p.window / this.fine);
    pruneBefore(s.c, newest(s.c) - fineSpan);
    pruneBefore(s.r, newest(s.r) - Math.ceil((this.p.window + this.p.reference) / this.coarse) - 1);
    if (v === 0 || t - s.f < this.p.min_history) return undefined;
    const current = sumRange(s.c, fi - fineSpan + 1, fi);
    if (current < this.p.min_count) return undefined;
    // Reference: whole coarse buckets that end before the current window starts.
    const refTo = Math.floor((t - this.p.window) / this.coarse) - 1;
    const refFrom = refTo - Math.floor(this.p.reference / this.coarse) + 1;
    const refSum = sumRange(s.r, refFrom, refTo);
    const observed = Math.max(0, (refTo + 1) * this.coarse - Math.max(refFrom * this.coarse, s.f));
    const expected = this.expected(s, refFrom, refTo, refSum, observed);
    if (current < this.p.factor * expected) return undefined;
    return this.hit(t, current, expected, refSum, observed);
  }

  /** Expected value for one window: mean reference rate, or the busiest reference bucket's. */
  private expected(s: State, from: number, to: number, refSum: number, observed: number): number {
    if (observed <= 0) return 0;
    if (this.p.compare === 'mean') return (refSum / observed) * this.p.window;
    let peak = 0;
    for (const [idx, v] of s.r) if (idx! >= from && idx! <= to && v! > peak) peak = v!;
    return (peak / Math.min(this.coarse, observed)) * this.p.window;
  }

  private hit(t: number, current: number, expected: number, refSum: number, observed: number): Hit {
    const windowStart = Math.floor(t / this.p.window) * this.p.window;
    const window = formatDuration(this.p.window);
    const ratio = expected > 0 ? Math.round((current / expected) * 10) / 10 : Infinity;
    const expectedR = Math.round(expected * 100) / 100;
    const what = this.p.sum ?? 'events';
    return {
      windowKey: String(windowStart),
      windowStart,
      vars: { count: current, expected: expectedR, ratio: Number.isFinite(ratio) ? ratio : 'n/a', factor: this.p.factor, window },
      why:
        `${current} ${what} within ${window} against ${expectedR} expected from the preceding ` +
        `${formatDuration(Math.round(observed / 60_000) * 60_000)} (${refSum} in all); at least ${this.p.factor}× and ${this.p.min_count} required`,
      evidence: {
        count: current,
        threshold: Math.max(this.p.min_count, this.p.factor * expected),
        baseline: { expected: expectedR, reference_total: refSum, reference_ms: observed, factor: this.p.factor },
        compare: this.p.compare,
        window,
      },
    };
  }

  isEmpty(s: State, wm: number): boolean {
    return newest(s.r) * this.coarse < wm - this.p.window - this.p.reference - this.coarse;
  }
}

export const spike: RuleType<SpikeParams> = {
  params: spikeParams,
  summary: '{key} made {count} requests within {window}, {ratio}× the {expected} its recent history predicts.',
  vars: ['count', 'expected', 'ratio', 'factor', 'window'],
  check(p) {
    const issues = [];
    if (p.reference < p.window) issues.push({ path: ['reference'], message: 'reference must be at least as long as window' });
    if (p.sum && fieldKind(p.sum) !== 'number') issues.push({ path: ['sum'], message: `sum needs a numeric field, "${p.sum}" is not one` });
    return issues;
  },
  create: (p) => new SpikeDetector(p),
};
