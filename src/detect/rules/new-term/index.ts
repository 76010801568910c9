import { z } from 'zod';
import type { Event } from '../../../core/event.js';
import { durationSchema, formatDuration, positiveDuration } from '../../duration.js';
import { type FieldContext, fieldGetter, fieldKind, fieldValues } from '../../fields.js';
import type { Detector, Hit, RuleType } from '../../types.js';

/**
 * new-term — a value (or tuple of values) of `fields` that a group has not shown before:
 * a key used from a new network with a new client, at an hour it is never used, against a
 * scope it never used. Each group first learns for `learning_period` from its first event and
 * never fires meanwhile; a term unseen for `forget_after` is forgotten and would be new again.
 * With `min_count` > 1, a new term must recur that many times within `window` to count, and
 * is learned only then (a single stray request stays quiet). With `min_count_per: group`, the
 * occurrences of all the group's new terms count together over a sliding `window` (and all of
 * them are learned when it fires): a term that is a time bucket (hour of day) would otherwise
 * restart its count at every bucket boundary, so a burst straddling 18:57–19:03 fired late.
 */
export const newTermParams = {
  fields: z.array(z.string()).min(1).max(4).describe('Fields whose combined value is the term.'),
  learning_period: durationSchema.default(7 * 86_400_000).describe('Per group: learn silently this long after its first event.'),
  forget_after: positiveDuration.default(30 * 86_400_000).describe('A term unseen this long is forgotten.'),
  max_terms: z.number().int().min(1).max(100_000).default(1_000).describe('Terms kept per group (least recently seen evicted).'),
  min_count: z.number().int().min(1).default(1).describe('Occurrences of a new term, within `window`, before it fires.'),
  window: positiveDuration.default(3_600_000).describe('Window for min_count.'),
  min_count_per: z.enum(['term', 'group']).default('term').describe('Count min_count per new term, or over all new terms of the group together (sliding window).'),
};

export interface NewTermParams {
  fields: string[];
  learning_period: number;
  forget_after: number;
  max_terms: number;
  min_count: number;
  window: number;
  min_count_per: 'term' | 'group';
}

interface State {
  /** First event time of the group (start of its learning period). */
  f: number;
  /** term → last seen. */
  t: Record<string, number>;
  /** new term → [occurrences, first occurrence], while it waits for min_count. */
  p: Record<string, [number, number]>;
  /** With min_count_per: group, the latest new-term occurrences within the window: [time, term]. */
  g?: Array<[number, string]>;
}

const SEP = '\u001f';
const MAX_COMBINATIONS = 16;
const MAX_PENDING = 256;
const SAMPLE_TERMS = 10;

export class NewTermDetector implements Detector<State> {
  readonly shape: string;
  readonly idleMs = 3_600_000;
  private readonly getters: Array<ReturnType<typeof fieldGetter>>;

  constructor(private readonly p: NewTermParams) {
    this.getters = p.fields.map((f) => fieldGetter(f));
    this.shape = `new-term/${p.fields.join(',')}`;
  }

  init(t: number): State {
    return { f: t, t: {}, p: {} };
  }

  /** Every term of the event: the product of the fields' values (list fields give several). */
  private terms(e: Event, ctx: FieldContext): string[] {
    if (this.getters.length === 1) {
      // The common case, without the product's intermediate arrays.
      const v = this.getters[0]!(e, ctx);
      if (v === undefined) return [];
      return Array.isArray(v) ? v.slice(0, MAX_COMBINATIONS).map(String) : [String(v)];
    }
    let combos: string[][] = [[]];
    for (const get of this.getters) {
      const values = fieldValues(get, e, ctx);
      if (values.length === 0) return [];
      combos = combos.flatMap((c) => values.map((v) => [...c, String(v)])).slice(0, MAX_COMBINATIONS);
    }
    return combos.map((c) => c.join(SEP));
  }

  observe(s: State, e: Event, t: number, ctx: FieldContext): Hit | undefined {
    if (t < s.f) s.f = t;
    const learning = t < s.f + this.p.learning_period;
    let hit: Hit | undefined;
    for (const term of this.terms(e, ctx)) {
      const last = s.t[term];
      if (last !== undefined && last > t - this.p.forget_after) {
        if (last < t) s.t[term] = t;
        continue;
      }
      if (learning || this.recurred(s, term, t)) {
        this.learn(s, term, t);
        if (!learning) hit ??= this.hit(s, term, t);
      }
    }
    return hit;
  }

  /** Count an occurrence of a new term; true once it reached min_count within the window. */
  private recurred(s: State, term: string, t: number): boolean {
    if (this.p.min_count <= 1) return true;
    if (this.p.min_count_per === 'group') return this.recurredInGroup(s, term, t);
    const prev = s.p[term];
    const pending: [number, number] = prev && prev[1] > t - this.p.window ? [prev[0] + 1, prev[1]] : [1, t];
    if (pending[0] >= this.p.min_count) {
      delete s.p[term];
      return true;
    }
    s.p[term] = pending;
    const keys = Object.keys(s.p);
    if (keys.length > MAX_PENDING) delete s.p[keys[0]!];
    return false;
  }

  /**
   * Sliding count over all new terms of the group. Keeps at most min_count - 1 occurrences, so
   * memory stays bounded; once min_count fall within the window, every pending term is learned.
   */
  private recurredInGroup(s: State, term: string, t: number): boolean {
    const from = t - this.p.window;
    const g = (s.g ?? []).filter(([at]) => at > from && at <= t);
    g.push([t, term]);
    if (g.length >= this.p.min_count) {
      for (const [, other] of g) if (other !== term) this.learn(s, other, t);
      delete s.g;
      return true;
    }
    g.sort((a, b) => a[0] - b[0]);
    s.g = g.slice(-(this.p.min_count - 1));
    return false;
  }

  private learn(s: State, term: string, t: number): void {
    s.t[term] = t;
    const entries = Object.entries(s.t);
    if (entries.length <= this.p.max_terms) return;
    const horizon = t - this.p.forget_after;
    const kept = entries.filter(([, last]) => last > horizon).sort((a, b) => b[1] - a[1]).slice(0, this.p.max_terms);
    s.t = Object.fromEntries(kept);
  }

  private hit(s: State, term: string, t: number): Hit {
    const parts = term.split(SEP);
    const shown = parts.join(', ');
    const known = Object.entries(s.t)
      .filter(([k]) => k !== term)
      .sort((a, b) => b[1] - a[1])
      .slice(0, SAMPLE_TERMS)
      .map(([k]) => k.split(SEP).join(', '));
    const fieldsText = this.p.fields.join(' + ');
    const epoch = Math.floor(t / this.p.forget_after);
    return {
      windowKey: `${term}${SEP}${epoch}`,
      windowStart: t,
      vars: { term: shown, fields: fieldsText, known: known.length, learned_since: new Date(s.f).toISOString() },
      why:
        `${fieldsText} = ${shown} was never seen for this group since ${new Date(s.f).toISOString()} ` +
        `(learning period ${formatDuration(this.p.learning_period)}; ${Object.keys(s.t).length - 1} known terms)`,
      evidence: {
        term: Object.fromEntries(this.p.fields.map((f, i) => [f, parts[i] ?? ''])),
        values: known,
        known_terms: Object.keys(s.t).length - 1,
        learning_period: formatDuration(this.p.learning_period),
      },
    };
  }

  isEmpty(s: State): boolean {
    return Object.keys(s.t).length === 0 && Object.keys(s.p).length === 0 && !s.g?.length;
  }
}

export const newTerm: RuleType<NewTermParams> = {
  params: newTermParams,
  summary: '{key} used a new {fields}: {term} (known: {known} others).',
  vars: ['term', 'fields', 'known', 'learned_since'],
  check(p) {
    const issues = p.fields.flatMap((f, i) => (fieldKind(f) ? [] : [{ path: ['fields', i] as Array<string | number>, message: `unknown field "${f}"` }]));
    if (p.min_count_per === 'group' && p.min_count > MAX_PENDING) {
      issues.push({ path: ['min_count'], message: `with min_count_per: group, min_count is at most ${MAX_PENDING} (occurrences are kept one by one)` });
    }
    return issues;
  },
  create: (p) => new NewTermDetector(p),
};
