import { DAY, HOUR, type KeySpec, MIN, type Profile, localMidnight } from './model.js';
import { upgradedUa } from './population.js';
import { type Rng, intBetween, pick } from './random.js';

/**
 * The hard negatives: benign changes that look like the attacks and must stay quiet — planned
 * growth (twice the traffic for one local day), a server move to another address of the same
 * /24, and a client upgrade (same user-agent family, new version). Each is applied to keys no
 * attack touches, and labelled.
 */
export const NEGATIVE_KINDS = ['planned-growth', 'server-move', 'client-upgrade'] as const;
export type NegativeKind = (typeof NEGATIVE_KINDS)[number];

export interface NegativeLabel {
  kind: NegativeKind;
  key: string;
  fingerprint: string;
  start: string;
  /** End of the change's effect (growth); the end of the week for permanent changes. */
  end: string;
  description: string;
}

/** Which profiles each change suits, in order of preference. */
const CANDIDATES: Record<NegativeKind, Profile[]> = {
  'planned-growth': ['reader-bot', 'poster-bot', 'night-batch', 'admin-tool'],
  'server-move': ['poster-bot', 'reader-bot', 'stream-bot', 'night-batch'],
  'client-upgrade': ['phone-app', 'stream-bot', 'reader-bot', 'poster-bot'],
};

/**
 * Apply `perKind` changes of each kind to keys in `free` (removing them from it); the changes
 * start on days 1-5 of the week starting at `week`.
 */
export function applyNegatives(r: Rng, free: KeySpec[], week: number, weekEnd: number, perKind: number): NegativeLabel[] {
  const labels: NegativeLabel[] = [];
  for (let n = 0; n < perKind; n++) {
    for (const kind of NEGATIVE_KINDS) {
      const k = takeFree(free, CANDIDATES[kind]);
      if (!k) continue;
      labels.push(apply(r, kind, k, week, weekEnd));
    }
  }
  return labels;
}

function takeFree(free: KeySpec[], profiles: Profile[]): KeySpec | undefined {
  for (const p of profiles) {
    const i = free.findIndex((k) => k.profile === p);
    if (i >= 0) return free.splice(i, 1)[0];
  }
  return undefined;
}

function apply(r: Rng, kind: NegativeKind, k: KeySpec, week: number, weekEnd: number): NegativeLabel {
  const day = week + pick(r, [1, 2, 3, 4, 5]) * DAY;
  const base = { kind, key: k.id, fingerprint: k.fp, end: new Date(weekEnd).toISOString() };
  if (kind === 'planned-growth') {
    const from = localMidnight(day + 12 * HOUR, k.tz);
    k.changes.growth = { from, to: from + DAY, factor: 2 };
    return { ...base, start: iso(from), end: iso(from + DAY), description: `${k.id} doubles its traffic for one local day (a planned campaign)` };
  }
  const at = day + intBetween(r, 8, 17) * HOUR + intBetween(r, 0, 59) * MIN;
  if (kind === 'server-move') {
    const o = k.origins[0]!;
    const prefix = o.ip.slice(0, o.ip.lastIndexOf('.'));
    const host = Number(o.ip.slice(o.ip.lastIndexOf('.') + 1));
    const ip = `${prefix}.${host === 250 ? 249 : host + 1 + intBetween(r, 0, 250 - host - 1)}`;
    k.changes.move = { at, ip };
    return { ...base, start: iso(at), description: `${k.id} moves from ${o.ip} to ${ip} (same /24)` };
  }
  const ua = upgradedUa(k.ua);
  k.changes.upgrade = { at, ua };
  return { ...base, start: iso(at), description: `${k.id} upgrades its client: ${k.ua} → ${ua}` };
}

const iso = (t: number) => new Date(t).toISOString();
