import type { Severity } from '../../src/core/finding.js';
import type { AttackLabel } from './attacks.js';
import type { TrafficLabels } from './generate.js';
import { HOUR, MIN } from './model.js';
import type { NegativeKind } from './negatives.js';

/**
 * Scoring findings against a generated week's labels (issue 4 §6):
 * - an attack is DETECTED when a finding of the rule it was injected for, about the right key
 *   (or, without a key, the right group), is at most 5 minutes (event time) after its start;
 * - a finding is a TRUE POSITIVE when it is about an attacked key or group, at or after the
 *   attack's start, and the events it counts (its rule's window before it) overlap the attack
 *   or the hour after it, whatever the rule — e.g. a 6-hour cardinality window that still
 *   holds the attack's networks when its suppression ends;
 * - anything else is a FALSE POSITIVE, classified by what it was about (a hard negative, a
 *   benign managed key, an unmanaged token, an attacked key outside its attack, no key).
 * Precision = true positives / findings; recall = detected attacks / attacks.
 */
export const DETECT_WITHIN_MS = 5 * MIN;
export const ATTRIBUTION_SLACK_MS = HOUR;

/** The finding fields scoring reads (a Finding or a parsed `--output json` line). */
export interface FindingLike {
  rule: string;
  key: string | null;
  fingerprint: string | null;
  group: Record<string, string>;
  severity: Severity;
  at: string;
  summary: string;
}

export interface AttackResult {
  attack: AttackLabel;
  detected: boolean;
  /** Event time from the attack's start to the first finding of its rule about it (null: none). */
  ttdMs: number | null;
  /** Other rules that fired about the attack while it ran. */
  alsoBy: string[];
}

export type FalseKind = 'hard-negative' | 'benign-key' | 'unmanaged-token' | 'attacked-key-outside-attack' | 'no-key';

export interface FalsePositive {
  finding: FindingLike;
  on: FalseKind;
  negative?: NegativeKind;
}

export interface Score {
  attacks: AttackResult[];
  falsePositives: FalsePositive[];
  findings: number;
  truePositives: number;
  precision: number;
  recall: number;
  /** False positives of high or critical severity (the issue allows none). */
  alarming: number;
}

function about(f: FindingLike, a: AttackLabel): boolean {
  if (a.key !== null) return f.key === a.key || (a.fingerprint !== null && f.fingerprint === a.fingerprint);
  if (a.group) return Object.entries(a.group).every(([k, v]) => f.group[k] === v);
  return false;
}

/** How far back a rule's finding looks (its window), in ms; 0 when it is about one event. */
export type Lookback = (rule: string) => number;

function during(f: FindingLike, a: AttackLabel, lookback: Lookback): boolean {
  const t = Date.parse(f.at);
  return t >= Date.parse(a.start) && t - lookback(f.rule) <= Date.parse(a.end) + ATTRIBUTION_SLACK_MS;
}

function judgeAttack(a: AttackLabel, findings: readonly FindingLike[], lookback: Lookback): AttackResult {
  const mine = findings.filter((f) => about(f, a) && during(f, a, lookback));
  const own = mine.filter((f) => f.rule === a.rule).map((f) => Date.parse(f.at) - Date.parse(a.start));
  const first = own.length ? Math.min(...own) : null;
  return {
    attack: a,
    detected: first !== null && first <= DETECT_WITHIN_MS,
    ttdMs: first,
    alsoBy: [...new Set(mine.filter((f) => f.rule !== a.rule).map((f) => f.rule))],
  };
}

function classify(f: FindingLike, labels: TrafficLabels): FalsePositive {
  const key = labels.keys.find((k) => (f.key !== null && k.id === f.key && k.managed) || (f.fingerprint !== null && k.fingerprint === f.fingerprint));
  if (!key) return { finding: f, on: f.fingerprint || f.key ? 'unmanaged-token' : 'no-key' };
  const negative = labels.negatives.find((n) => n.key === key.id);
  if (negative) return { finding: f, on: 'hard-negative', negative: negative.kind };
  if (labels.attacks.some((a) => a.key === key.id)) return { finding: f, on: 'attacked-key-outside-attack' };
  return { finding: f, on: key.managed ? 'benign-key' : 'unmanaged-token' };
}

export function scoreFindings(labels: TrafficLabels, findings: readonly FindingLike[], lookback: Lookback = () => 0): Score {
  const attacks = labels.attacks.map((a) => judgeAttack(a, findings, lookback));
  const truePositive = (f: FindingLike) => labels.attacks.some((a) => about(f, a) && during(f, a, lookback));
  const falsePositives = findings.filter((f) => !truePositive(f)).map((f) => classify(f, labels));
  const truePositives = findings.length - falsePositives.length;
  return {
    attacks,
    falsePositives,
    findings: findings.length,
    truePositives,
    precision: findings.length ? truePositives / findings.length : 1,
    recall: attacks.length ? attacks.filter((a) => a.detected).length / attacks.length : 1,
    alarming: falsePositives.filter((x) => x.finding.severity === 'high' || x.finding.severity === 'critical').length,
  };
}

/** A Lookback from rules: their `window` (or baseline `interval`) parameter. */
export function lookbackOf(rules: ReadonlyArray<{ id: string; params: Record<string, unknown> }>): Lookback {
  const by = new Map(rules.map((r) => [r.id, Number(r.params.window ?? r.params.interval ?? 0) || 0]));
  return (rule) => by.get(rule) ?? 0;
}

/** Nearest-rank percentile of `values` (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One line per attack and per false positive, for people. */
export function describeScore(s: Score): string[] {
  const lines = s.attacks.map((r) => {
    const a = r.attack;
    const who = a.key ?? Object.values(a.group ?? {}).join(' ');
    const when = r.ttdMs === null ? 'NOT DETECTED' : `${r.detected ? 'detected' : 'LATE'} after ${(r.ttdMs / 1000).toFixed(0)} s`;
    return `  ${a.rule.padEnd(26)} ${who.padEnd(20)} ${when}${r.alsoBy.length ? ` (also ${r.alsoBy.join(', ')})` : ''}`;
  });
  for (const fp of s.falsePositives) {
    const f = fp.finding;
    lines.push(`  FALSE ${f.severity.padEnd(8)} ${f.rule} on ${fp.on}${fp.negative ? ` (${fp.negative})` : ''} at ${f.at}: ${f.summary}`);
  }
  return lines;
}
