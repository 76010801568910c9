import { z } from 'zod';
import type { Event } from '../../../core/event.js';
import { formatDuration, positiveDuration } from '../../duration.js';
import { type FieldContext, fieldGetter, fieldKind, fieldValues } from '../../fields.js';
import type { Detector, Hit, RuleType } from '../../types.js';

/**
 * cardinality — at least `threshold` distinct values of `field` within a sliding window for
 * one group: many source networks for one key, many fingerprints from one network.
 *
 * Counting is exact and bounded: each group keeps value → last-seen time for at most `cap`
 * values (default 2 × threshold), evicting the least recently seen. The decision only asks
 * whether the distinct count within the window reaches the threshold, and the `cap` most
 * recently seen values always include every value of a window that holds fewer than `cap`
 * of them, so the answer is exact up to the threshold. An estimator (HyperLogLog) would only
 * help for counts far above the threshold, which the rule never needs; evidence then says
 * "at least cap".
 */
export const cardinalityParams = {
  window: positiveDuration.describe('Sliding window length.'),
  field: z.string().describe('Field whose distinct values are counted.'),
  threshold: z.number().int().min(2).max(10_000).describe('Distinct values in the window that make a finding.'),
  cap: z.number().int().min(2).max(20_000).optional().describe('Values kept per group (default 2 × threshold).'),
};

export interface CardinalityParams {
  window: number;
  field: string;
  threshold: number;
  cap?: number | undefined;
}

interface State {
  /** value → last seen (epoch ms). */
  v: Record<string, number>;
}

const SAMPLE_VALUES = 20;

export class CardinalityDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs: number;
  private readonly get: ReturnType<typeof fieldGetter>;
  private readonly cap: number;

  constructor(private readonly p: CardinalityParams) {
    this.get = fieldGetter(p.field);
    this.cap = Math.max(p.cap ?? p.threshold * 2, p.threshold);
    this.shape = `cardinality/${p.field}`;
    this.idleMs = p.window;
  }

  init(): State {
    return { v: {} };
  }

  observe(s: State, e: Event, t: number, ctx: FieldContext): Hit | undefined {
    const since = t - this.p.window;
    let entered = false;
    for (const raw of fieldValues(this.get, e, ctx)) {
      const value = String(raw);
      const last = s.v[value];
      if (last === undefined || last <= since) entered = true;
      if (last === undefined || last < t) s.v[value] = t;
    }
    // Only a value entering the window can raise the count, so only then is it recounted.
    if (!entered) return undefined;
    const inWindow = this.trim(s, since);
    if (inWindow.length < this.p.threshold) return undefined;
    const windowStart = Math.floor(t / this.p.window) * this.p.window;
    const window = formatDuration(this.p.window);
    const distinct = inWindow.length;
    const values = inWindow.sort((a, b) => b[1] - a[1]).slice(0, SAMPLE_VALUES).map(([v]) => v);
    return {
      windowKey: String(windowStart),
      windowStart,
      vars: { distinct, threshold: this.p.threshold, field: this.p.field, window },
      why: `${distinct} distinct values of ${this.p.field} within ${window} reached the threshold of ${this.p.threshold}`,
      evidence: { count: distinct, threshold: this.p.threshold, field: this.p.field, window, values, saturated: distinct >= this.cap },
    };
  }

  /** Drop expired values, then the least recently seen past the cap; returns the values in the window. */
  private trim(s: State, since: number): Array<[string, number]> {
    let entries = Object.entries(s.v).filter(([, last]) => last > since);
    if (entries.length > this.cap) entries = entries.sort((a, b) => b[1] - a[1]).slice(0, this.cap);
    if (entries.length !== Object.keys(s.v).length) s.v = Object.fromEntries(entries);
    return entries;
  }

  isEmpty(s: State, wm: number): boolean {
    const since = wm - this.p.window;
    for (const last of Object.values(s.v)) if (last > since) return false;
    return true;
  }
}

export const cardinality: RuleType<CardinalityParams> = {
  params: cardinalityParams,
  summary: '{key} showed {distinct} distinct {field} values within {window} (threshold {threshold}).',
  vars: ['distinct', 'threshold', 'field', 'window'],
  check(p) {
    return fieldKind(p.field) ? [] : [{ path: ['field'], message: `unknown field "${p.field}"` }];
  },
  create: (p) => new CardinalityDetector(p),
};
