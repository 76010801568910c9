import { z } from 'zod';
import type { Event } from '../../../core/event.js';
import { type Bound, ewma, growthScaled, robustBound, robustZ } from '../../baselines/robust.js';
import { formatDuration, positiveDuration } from '../../duration.js';
import { type FieldContext, fieldGetter, fieldKind } from '../../fields.js';
import type { Detector, Hit, RuleType } from '../../types.js';

/**
 * baseline — a group's rate per `interval` against its own history at the same time of week
 * (or day): fires when the current interval's count (or sum), even partway through, exceeds
 * max(median + z·σ, min_ratio × median, min_value), where median and σ (1.4826 × MAD) come
 * from past values of the same hour-of-week. Until `min_weeks` such values exist it uses the
 * same hour on recent days of the same kind (weekday or weekend), and never fires with fewer
 * than `min_history` of those.
 * Past values are scaled by the growth of an EWMA level (clamped to `growth_cap`), so steady
 * growth is not an anomaly; `min_ratio` keeps a planned doubling quiet.
 */
const DAY = 86_400_000;
const WEEK = 7 * DAY;

export const baselineParams = {
  interval: positiveDuration.default(3_600_000).describe('Bucket length; must divide one day.'),
  seasonality: z.enum(['weekly', 'daily', 'none']).default('weekly').describe('Which past buckets are comparable.'),
  history: positiveDuration.default(28 * DAY).describe('How far back values are kept.'),
  min_history: z.number().int().min(2).default(5).describe('Same-hour values of recent days needed before it may fire.'),
  min_weeks: z.number().int().min(2).default(3).describe('Same-hour-of-week values needed before they replace recent days.'),
  z: z.number().positive().default(6).describe('Robust z-score that makes a finding.'),
  min_ratio: z.number().min(1).default(3).describe('The value must also be this many times the median.'),
  min_value: z.number().min(0).default(20).describe('And at least this large.'),
  level_half_life: positiveDuration.default(WEEK).describe('Half-life of the EWMA level that tracks growth.'),
  growth_cap: z.number().min(1).default(1.5).describe('Largest growth factor applied to past values.'),
  sum: z.string().optional().describe('Numeric field to sum instead of counting events.'),
};

export interface BaselineParams {
  interval: number;
  seasonality: 'weekly' | 'daily' | 'none';
  history: number;
  min_history: number;
  min_weeks: number;
  z: number;
  min_ratio: number;
  min_value: number;
  level_half_life: number;
  growth_cap: number;
  sum?: string | undefined;
}

interface State {
  /** Current bucket index, its value so far, and whether it already fired. */
  cur: number;
  v: number;
  fired: 0 | 1;
  /** EWMA level over closed buckets, and how many buckets it has seen. */
  lvl: number | null;
  n: number;
  /** Closed bucket values and the level after each, for buckets hs … cur-1. */
  hs: number;
  h: number[];
  l: number[];
}

interface Reference {
  kind: 'hour of week' | 'weekday hour' | 'weekend hour' | 'hour of day' | 'recent interval';
  samples: number[];
}

export class BaselineDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs: number;
  private readonly keep: number;
  private readonly get: ReturnType<typeof fieldGetter> | undefined;
  /** EWMA weight per closed interval, from the half-life: the level forgets half in that time. */
  private readonly alpha: number;
  private readonly memo = new WeakMap<State, { cur: number; judged: { ref: Reference; bound: Bound } | null }>();

  constructor(private readonly p: BaselineParams) {
    this.keep = Math.max(1, Math.floor(p.history / p.interval));
    this.alpha = 1 - 0.5 ** (p.interval / p.level_half_life);
    this.get = p.sum ? fieldGetter(p.sum) : undefined;
    this.shape = `baseline/${p.interval}/${p.sum ?? 'count'}`;
    this.idleMs = 2 * p.interval;
  }

  init(t: number): State {
    const b = Math.floor(t / this.p.interval);
    return { cur: b, v: 0, fired: 0, lvl: null, n: 0, hs: b, h: [], l: [] };
  }

  observe(s: State, e: Event, t: number, ctx: FieldContext): Hit | undefined {
    const b = Math.floor(t / this.p.interval);
    const v = this.get ? numeric(this.get(e, ctx)) : 1;
    if (b < s.cur) {
      // A late event (within the engine's lateness bound) belongs to a closed bucket.
      if (b >= s.hs) s.h[b - s.hs]! += v;
      return undefined;
    }
    if (b > s.cur) this.roll(s, b);
    s.v += v;
    if (s.fired) return undefined;
    const judged = this.judge(s);
    if (!judged || s.v < judged.bound.upper) return undefined;
    s.fired = 1;
    return this.hit(s, judged.ref, judged.bound);
  }

  /**
   * The reference and bound of the current bucket, or null while history is too short. They
   * change only when a bucket closes, so they are computed once per group and bucket (kept
   * beside the state, not in it: a restored group recomputes them).
   */
  private judge(s: State): { ref: Reference; bound: Bound } | null {
    const memo = this.memo.get(s);
    if (memo && memo.cur === s.cur) return memo.judged;
    const ref = this.reference(s);
    const judged = this.enough(ref)
      ? { ref, bound: robustBound(ref.samples, { z: this.p.z, minRatio: this.p.min_ratio, minValue: this.p.min_value, counts: !this.get }) }
      : null;
    this.memo.set(s, { cur: s.cur, judged });
    return judged;
  }

  /** Close buckets up to b: the current one with its value, any skipped ones with zero. */
  private roll(s: State, b: number): void {
    const gap = b - s.cur - 1;
    this.push(s, s.v);
    if (gap >= this.keep) {
      s.h = [];
      s.l = [];
      s.hs = b - this.keep;
    }
    for (let i = 0; i < Math.min(gap, this.keep); i++) this.push(s, 0);
    s.hs = b - s.h.length;
    s.cur = b;
    s.v = 0;
    s.fired = 0;
  }

  private push(s: State, value: number): void {
    // Until the level has seen 1/alpha buckets it is their plain mean: seeded by one quiet
    // night bucket, a slow EWMA would take weeks to reach the key's level and read as growth.
    s.n++;
    s.lvl = ewma(s.lvl, value, Math.max(this.alpha, 1 / s.n));
    s.h.push(value);
    s.l.push(s.lvl);
    if (s.h.length > this.keep) {
      s.h.shift();
      s.l.shift();
    }
  }

  /**
   * Past values comparable with the current bucket, scaled to today's level: the same
   * hour-of-week once `min_weeks` of them exist; before that, with weekly seasonality, the same
   * hour on recent days of the same kind (weekdays or weekend days), so a weekend-heavy key is
   * not compared with its weekdays.
   */
  private reference(s: State): Reference {
    const perDay = Math.round(DAY / this.p.interval);
    const pick = (step: number, keep: (i: number) => boolean = () => true): number[] => {
      const out: number[] = [];
      for (let i = s.cur - step; i >= s.hs; i -= step) {
        if (!keep(i)) continue;
        const k = i - s.hs;
        out.push(growthScaled(s.h[k]!, s.l[k]!, s.lvl ?? 0, this.p.growth_cap));
      }
      return out;
    };
    if (this.p.seasonality === 'none') return { kind: 'recent interval', samples: pick(1) };
    if (this.p.seasonality === 'daily') return { kind: 'hour of day', samples: pick(perDay) };
    const weekly = pick(perDay * 7);
    if (weekly.length >= this.p.min_weeks) return { kind: 'hour of week', samples: weekly };
    const weekend = isWeekend(s.cur * this.p.interval);
    const samples = pick(perDay, (i) => isWeekend(i * this.p.interval) === weekend);
    return { kind: weekend ? 'weekend hour' : 'weekday hour', samples };
  }

  private enough(ref: Reference): boolean {
    return ref.samples.length >= (ref.kind === 'hour of week' ? this.p.min_weeks : this.p.min_history);
  }

  private hit(s: State, ref: Reference, bound: Bound): Hit {
    const windowStart = s.cur * this.p.interval;
    const interval = formatDuration(this.p.interval);
    const z = Math.round(robustZ(s.v, bound) * 10) / 10;
    const med = Math.round(bound.median * 100) / 100;
    const upper = Math.round(bound.upper * 100) / 100;
    const what = this.p.sum ?? 'events';
    return {
      windowKey: String(windowStart),
      windowStart,
      vars: { value: s.v, median: med, upper, z, reference: ref.kind, samples: ref.samples.length, interval },
      why:
        `${s.v} ${what} in the ${interval} from ${new Date(windowStart).toISOString()} against a median of ${med} ` +
        `for the same ${ref.kind} (${ref.samples.length} values, robust z ${z}); anomalous from ${upper}`,
      evidence: {
        count: s.v,
        threshold: upper,
        baseline: {
          median: bound.median,
          mad: bound.mad,
          sigma: bound.sigma,
          z,
          level: s.lvl ?? 0,
          samples: ref.samples.length,
        },
        reference: ref.kind,
        interval,
      },
    };
  }

  isEmpty(s: State): boolean {
    return s.v === 0 && s.h.every((x) => x === 0);
  }
}

/** Saturday or Sunday, UTC. */
function isWeekend(t: number): boolean {
  const dow = new Date(t).getUTCDay();
  return dow === 0 || dow === 6;
}

function numeric(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export const baseline: RuleType<BaselineParams> = {
  params: baselineParams,
  summary: '{key} made {value} requests in one {interval}, against a usual {median} at this {reference} (robust z {z}).',
  vars: ['value', 'median', 'upper', 'z', 'reference', 'samples', 'interval'],
  check(p) {
    const issues = [];
    if (DAY % p.interval !== 0 || p.interval < 60_000) {
      issues.push({ path: ['interval'], message: 'interval must be at least 1m and divide one day (5m, 15m, 1h, …)' });
    }
    if (p.history < DAY) issues.push({ path: ['history'], message: 'history must be at least 1d' });
    if (p.seasonality === 'weekly' && p.history < 2 * WEEK) {
      issues.push({ path: ['history'], message: 'weekly seasonality needs at least 2w of history' });
    }
    if (p.sum && fieldKind(p.sum) !== 'number') issues.push({ path: ['sum'], message: `sum needs a numeric field, "${p.sum}" is not one` });
    return issues;
  },
  create: (p) => new BaselineDetector(p),
};
