import { type AttackKind, type AttackLabel, ATTACKS } from './attacks.js';
import { background } from './background.js';
import { adminTool, nightBatch, posterBot, readerBot, retiredIntegration, streamBot } from './bots.js';
import { KeyWriter } from './kit.js';
import { DAY, HOUR, type KeySpec, type Profile, type Req } from './model.js';
import { type NegativeLabel, applyNegatives } from './negatives.js';
import { appSessions, officeApp, webSessions } from './people.js';
import { Networks, type PopulationSize, population } from './population.js';
import { intBetween, pick, streamOf } from './random.js';

/**
 * A generated instance: `historyDays` of ordinary traffic (the rules' learning period: new-term
 * rules learn 7 days, off-hours 14, baselines need 5 same-hour weekdays) followed by the
 * labelled WEEK with one attack per rule and the hard negatives. The same options always give
 * the same requests.
 */
export interface TrafficOptions {
  seed: number;
  /** Fingerprint pepper (as in nginx's njs module and TUSKGUARD_PEPPER). */
  pepper: string;
  size?: PopulationSize;
  /** Monday 00:00 UTC at which the history starts (default 2026-10-05). */
  start?: string;
  historyDays?: number;
  /** Federation requests per hour (default 150 full, 40 small). */
  federationPerHour?: number;
  /** Rule ids to inject an attack for (default: every rule with an attack). */
  rules?: readonly string[];
  /** The rule pack's ids, to list the rules no attack covers (labels.uncovered). */
  packRules?: readonly string[];
}

export interface TrafficLabels {
  generator: string;
  seed: number;
  size: PopulationSize;
  history: { from: string; to: string };
  week: { from: string; to: string };
  keys: Array<Pick<KeySpec, 'id' | 'profile' | 'managed' | 'kind' | 'scopes' | 'tz' | 'ua'> & { fingerprint: string; origins: Array<{ network: string; asn: number; as_name: string; role: string }> }>;
  attacks: AttackLabel[];
  negatives: NegativeLabel[];
  /** Rules of the pack with no attack here (the generator knows no attack for them). */
  uncovered: string[];
}

export interface Traffic {
  keys: KeySpec[];
  /** Sorted by time; before `labels.week.from`. */
  history: Req[];
  /** Sorted by time; the labelled week. */
  week: Req[];
  labels: TrafficLabels;
}

export const GENERATOR = 'tuskguard bench/traffic 1';

/** Attack kinds the generator knows, by rule id. */
export const ATTACK_RULES: readonly string[] = ATTACKS.map((a) => a.rule);

const PROFILE_TRAFFIC: Record<Profile, (w: KeyWriter, from: number, to: number) => void> = {
  'poster-bot': posterBot,
  'reader-bot': readerBot,
  'office-app': officeApp,
  'admin-tool': adminTool,
  'phone-app': appSessions,
  'night-batch': nightBatch,
  'stream-bot': streamBot,
  'retired-integration': retiredIntegration,
  'web-session': webSessions,
  'third-party-app': appSessions,
};

export function generateTraffic(o: TrafficOptions): Traffic {
  const size = o.size ?? 'full';
  const from = Date.parse(`${o.start ?? '2026-10-05'}T00:00:00Z`);
  const week = from + (o.historyDays ?? 14) * DAY;
  const to = week + 7 * DAY;
  const nets = new Networks(streamOf(o.seed, 'networks'));
  const keys = population(o.seed, size, o.pepper, nets);
  const plan = streamOf(o.seed, 'plan');
  for (const k of keys) if (k.profile === 'retired-integration') k.changes.stopAt = week + intBetween(plan, 8, 12) * HOUR;
  const free = [...keys];
  const wanted = o.rules ? ATTACKS.filter((a) => o.rules!.includes(a.rule)) : ATTACKS;
  const { reqs, attacks } = injectAttacks(wanted, chooseVictims(wanted, free, o.seed, size), { seed: o.seed, nets, pepper: o.pepper, week });
  const negatives = applyNegatives(streamOf(o.seed, 'negatives'), free.filter((k) => k.managed), week, to, size === 'full' ? 2 : 1);
  for (const k of keys) {
    const w = new KeyWriter(k, streamOf(o.seed, 'traffic', k.id));
    PROFILE_TRAFFIC[k.profile](w, from, to);
    reqs.push(...w.reqs);
  }
  reqs.push(...background({ seed: o.seed, from, to, perHour: o.federationPerHour ?? (size === 'full' ? 150 : 40), pepper: o.pepper }));
  const sorted = reqs.filter((q) => q.t >= from && q.t < to).sort((a, b) => a.t - b.t);
  const first = sorted.findIndex((q) => q.t >= week);
  const cut = first < 0 ? sorted.length : first;
  const labels: TrafficLabels = {
    generator: GENERATOR, seed: o.seed, size,
    history: { from: iso(from), to: iso(week) }, week: { from: iso(week), to: iso(to) },
    keys: keys.map(keyLabel), attacks, negatives, uncovered: (o.packRules ?? []).filter((r) => !ATTACK_RULES.includes(r)),
  };
  return { keys, history: sorted.slice(0, cut), week: sorted.slice(cut), labels };
}

/** Build each attack on its victim; its label's start and end are its first and last request. */
function injectAttacks(
  wanted: readonly AttackKind[],
  victims: Map<string, KeySpec>,
  c: { seed: number; nets: Networks; pepper: string; week: number },
): { reqs: Req[]; attacks: AttackLabel[] } {
  const reqs: Req[] = [];
  const attacks: AttackLabel[] = [];
  for (const a of wanted) {
    const victim = victims.get(a.rule) ?? null;
    const ctx = { r: streamOf(c.seed, 'attack', a.rule), nets: c.nets, pepper: c.pepper, week: c.week };
    const built = a.build(ctx, victim, a.when(ctx, victim));
    reqs.push(...built.reqs);
    const times = built.reqs.map((q) => q.t);
    attacks.push({
      id: `attack-${attacks.length + 1}`, rule: a.rule, key: victim?.id ?? null, fingerprint: victim?.fp ?? null, group: built.group ?? null,
      start: iso(Math.min(...times)), end: iso(Math.max(...times)), origin: built.origin, description: built.description,
    });
  }
  return { reqs, attacks };
}

/**
 * One victim per attack, drawn by the seed among the free managed keys of the right profile
 * (unmanaged tokens for an attack that asks for one);
 * attacks with a narrower choice (a read-only key, a key holding write) choose first.
 */
function chooseVictims(attacks: readonly AttackKind[], free: KeySpec[], seed: number, size: PopulationSize): Map<string, KeySpec> {
  const out = new Map<string, KeySpec>();
  const narrow = [...attacks].sort((a, b) => Number(!a.victim?.where) - Number(!b.victim?.where));
  for (const a of narrow) {
    if (!a.victim) continue;
    const fits = free.filter((k) => k.managed === !a.victim!.unmanaged && k.profile === a.victim!.profile && (a.victim!.where?.(k) ?? true));
    if (fits.length === 0) throw new Error(`no key left for an attack of ${a.rule}: the ${size} population is too small`);
    const k = pick(streamOf(seed, 'victim', a.rule), fits);
    free.splice(free.indexOf(k), 1);
    out.set(a.rule, k);
  }
  return out;
}

function keyLabel(k: KeySpec): TrafficLabels['keys'][number] {
  return {
    id: k.id, profile: k.profile, managed: k.managed, kind: k.kind, scopes: k.scopes, tz: k.tz, ua: k.ua, fingerprint: k.fp,
    origins: k.origins.map((o) => ({ network: o.network, asn: o.asn, as_name: o.asName, role: o.role })),
  };
}

const iso = (t: number) => new Date(t).toISOString();
