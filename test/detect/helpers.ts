import type { Event } from '../../src/core/event.js';
import { parseRule } from '../../src/detect/schema.js';
import type { Rule } from '../../src/detect/types.js';

let seq = 0;

/** An event at `at` (ISO or epoch ms) with the given fields; a fresh event id each time. */
export function ev(at: string | number, fields: Partial<Event> = {}): Event {
  const ts = typeof at === 'number' ? new Date(at).toISOString() : at;
  seq++;
  return { '@timestamp': ts, 'event.id': `e${seq}`, 'event.dataset': 'nginx-json', ...fields };
}

/** A compiled rule from an inline document; fails the test with the issues when invalid. */
export function rule(doc: Record<string, unknown>): Rule {
  const r = parseRule({ description: 'test rule', severity: 'high', ...doc });
  if (!r.rule) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.rule;
}

export const T0 = Date.parse('2026-11-02T00:00:00Z'); // a Monday
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
