import { fingerprint } from '../../src/core/fingerprint.js';
import { accountId, statusId } from './kit.js';
import { DAY, HOUR, type KeySpec, MIN, type Origin, type Profile, type Req, SEC, localHour, localMidnight } from './model.js';
import type { Networks } from './population.js';
import { type Rng, between, intBetween, pick, secret } from './random.js';

/**
 * One injected attack per rule of the pack, each the threat the rule exists for, woven into a
 * key's ordinary traffic (which goes on meanwhile). The label says which key (or, for token
 * stuffing, which source network), which rule should see it, and when it started: the first
 * request of the attack.
 */
export interface AttackLabel {
  id: string;
  rule: string;
  /** Key id (managed, or an unmanaged token's for token-new-origin), or null when the attack is not about one key. */
  key: string | null;
  fingerprint: string | null;
  /** For attacks on no key: the group the rule reports (e.g. `source.network`). */
  group: Record<string, string> | null;
  start: string;
  end: string;
  origin: 'usual' | 'new';
  description: string;
}

export interface AttackContext {
  r: Rng;
  nets: Networks;
  pepper: string;
  /** Start of the labelled week (epoch ms); attacks happen on its days 1-6. */
  week: number;
}

interface Built {
  reqs: Req[];
  origin: 'usual' | 'new';
  description: string;
  group?: Record<string, string>;
}

export interface AttackKind {
  rule: string;
  /** Which keys may be the victim (null: no key). */
  victim: { profile: Profile; where?: (k: KeySpec) => boolean; unmanaged?: true } | null;
  /** When the attack starts, for that victim. */
  when(c: AttackContext, k: KeySpec | null): number;
  build(c: AttackContext, k: KeySpec | null, start: number): Built;
}

const ATTACKER_UAS = ['python-requests/2.32.3', 'curl/8.5.0', 'Go-http-client/2.0', 'node-fetch/1.0'];

/** A request with the victim's token (or `fp`) from `o`. */
function hit(t: number, o: Origin | string, ua: string, fp: string, method: string, uri: string, status = 200): Req {
  return { t: Math.round(t), ip: typeof o === 'string' ? o : o.ip, ua, method, uri, status, fp, bytes: status < 400 ? 4_000 : 90 };
}

/** Requests every `minS`-`maxS` seconds from `start` until `n` were made. */
function paced(c: AttackContext, start: number, n: number, minS: number, maxS: number, make: (t: number, i: number) => Req): Req[] {
  const out: Req[] = [];
  for (let i = 0, t = start; i < n; i++, t += between(c.r, minS, maxS) * SEC) out.push(make(t, i));
  return out;
}

/** A random time on days 1-6 of the week; `weekday` keeps to Monday-Friday (UTC). */
function someTime(c: AttackContext, weekday = false): number {
  const days = weekday ? [1, 2, 3, 4] : [1, 2, 3, 4, 5, 6];
  return c.week + pick(c.r, days) * DAY + intBetween(c.r, 0, 23 * 60) * MIN;
}

const usual = (k: KeySpec) => k.origins[0]!;

export const ATTACKS: AttackKind[] = [
  {
    rule: 'key-new-origin',
    victim: { profile: 'poster-bot' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const o = c.nets.hostile('vps');
      const ua = pick(c.r, ATTACKER_UAS);
      const reqs = paced(c, start, 40, 20, 60, (t, i) => hit(t, o, ua, k!.fp, 'GET', i === 0 ? '/api/v1/accounts/verify_credentials' : `/api/v1/accounts/${accountId(c.r, 500)}/statuses?limit=40`));
      return { reqs, origin: 'new', description: `leaked token used from ${o.network} (${o.asName}) with ${ua}` };
    },
  },
  {
    rule: 'read-volume-exfiltration',
    victim: { profile: 'reader-bot' },
    when: (c) => someTime(c, true),
    build(c, k, start) {
      const reqs = paced(c, start, 1_800, 0.5, 0.9, (t) => hit(t, usual(k!), k!.ua, k!.fp, 'GET', `/api/v1/accounts/${accountId(c.r, 20_000, 10_000)}/statuses?limit=40`));
      return { reqs, origin: 'usual', description: 'the archive server, compromised, pulls statuses of 20,000 accounts at ~1.4/s' };
    },
  },
  {
    rule: 'scope-probing',
    victim: { profile: 'reader-bot', where: (k) => k.scopes.length === 1 && k.scopes[0] === 'read' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const o = c.nets.hostile('vps');
      const probes: Array<[string, string]> = [
        ['POST', '/api/v1/statuses'], ['POST', `/api/v1/statuses/${statusId(c.r)}/favourite`], ['GET', '/api/v1/admin/accounts'],
        ['POST', `/api/v1/accounts/${accountId(c.r, 99)}/follow`], ['DELETE', `/api/v1/statuses/${statusId(c.r)}`], ['GET', '/api/v1/admin/reports'],
        ['POST', '/api/v2/media'], ['PATCH', '/api/v1/accounts/update_credentials'], ['GET', '/api/v1/admin/domain_blocks'],
      ];
      const reqs = [hit(start, o, 'curl/8.5.0', k!.fp, 'GET', '/api/v1/accounts/verify_credentials')];
      reqs.push(...probes.map(([m, u], i) => hit(start + (i + 1) * between(c.r, 8, 15) * SEC, o, 'curl/8.5.0', k!.fp, m, u, 403)));
      return { reqs, origin: 'new', description: `a read-only token tried on ${probes.length} write and admin endpoints from ${o.network}` };
    },
  },
  {
    rule: 'admin-mass-action',
    victim: { profile: 'admin-tool' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const reqs = paced(c, start, 45, 5, 9, (t) => hit(t, usual(k!), k!.ua, k!.fp, 'POST', `/api/v1/admin/accounts/${accountId(c.r, 50_000, 20_000)}/action`));
      return { reqs, origin: 'usual', description: 'a takeover of the moderation tool suspends 45 accounts in 5 minutes' };
    },
  },
  {
    rule: 'admin-enumeration',
    victim: { profile: 'admin-tool' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const o = c.nets.hostile('vps');
      const first = intBetween(c.r, 1_000, 90_000);
      const reqs = paced(c, start, 150, 1.5, 3, (t, i) => hit(t, o, 'python-requests/2.32.3', k!.fp, 'GET', `/api/v1/admin/accounts/${first + i}`));
      return { reqs, origin: 'new', description: `a moderator token walks /api/v1/admin/accounts/:id from ${o.network}` };
    },
  },
  {
    rule: 'revoked-key-use',
    victim: { profile: 'retired-integration' },
    // The key is revoked (its consumer retired) on day 0 of the week; a copy is tried 1-3 days later.
    when: (c, k) => k!.changes.stopAt! + intBetween(c.r, 26, 72) * HOUR + intBetween(c.r, 0, 59) * MIN,
    build(c, k, start) {
      const o = c.nets.hostile('proxy');
      const reqs = paced(c, start, 8, 20, 40, (t, i) => hit(t, o, 'curl/8.5.0', k!.fp, 'GET', i % 2 ? '/api/v1/timelines/home' : '/api/v1/accounts/verify_credentials', 401));
      return { reqs, origin: 'new', description: 'the revoked token, copied from an old config, is tried again (Mastodon answers 401)' };
    },
  },
  {
    rule: 'token-stuffing',
    victim: null,
    when: (c) => someTime(c),
    build(c, _k, start) {
      const o = c.nets.hostile('vps');
      const [a, b, d] = o.ip.split('.');
      const ips = [o.ip, `${a}.${b}.${d}.${intBetween(c.r, 2, 250)}`];
      const reqs = paced(c, start, 60, 2, 4, (t, i) => hit(t, ips[i % 2]!, 'python-requests/2.32.3', fingerprint(c.pepper, secret(c.r)), 'GET', '/api/v1/accounts/verify_credentials', 401));
      return { reqs, origin: 'new', group: { 'source.network': o.network }, description: `60 stolen or guessed tokens tried from two hosts of ${o.network}` };
    },
  },
  {
    rule: 'off-hours-use',
    victim: { profile: 'office-app' },
    // 01:00-04:00 local, a night nobody works.
    when: (c, k) => localMidnight(c.week + pick(c.r, [1, 2, 3, 4, 5]) * DAY + 12 * HOUR, k!.tz) + between(c.r, 1, 4) * HOUR,
    build(c, k, start) {
      const reqs = paced(c, start, 40, 20, 50, (t) => hit(t, usual(k!), k!.ua, k!.fp, 'GET', `/api/v1/accounts/${accountId(c.r, 300)}/statuses?limit=20`));
      const hour = localHour(start, k!.tz);
      return { reqs, origin: 'usual', description: `the desk tool's token used at ${hour}:00 local from the office network (an insider at night)` };
    },
  },
  {
    rule: 'distributed-low-and-slow',
    victim: { profile: 'phone-app' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const bots = Array.from({ length: 24 }, () => c.nets.hostile('proxy'));
      const reqs: Req[] = [];
      for (const o of bots) {
        for (let t = start + c.r() * 3 * MIN; t < start + 2 * HOUR; t += between(c.r, 4, 10) * MIN) {
          reqs.push(hit(t, o, k!.ua, k!.fp, 'GET', pick(c.r, ['/api/v1/timelines/home?limit=20', '/api/v1/notifications?limit=15'])));
        }
      }
      return { reqs, origin: 'new', description: 'the token spread over 24 residential proxies, each under a request per 4 minutes' };
    },
  },
  {
    rule: 'write-spam',
    victim: { profile: 'poster-bot' },
    when: (c) => someTime(c),
    build(c, k, start) {
      const reqs = paced(c, start, 160, 4, 7, (t) => hit(t, usual(k!), k!.ua, k!.fp, 'POST', '/api/v1/statuses'));
      return { reqs, origin: 'usual', description: 'the hijacked bot posts spam every ~5 s for 15 minutes' };
    },
  },
  {
    rule: 'new-scope-use',
    victim: { profile: 'reader-bot', where: (k) => k.scopes.includes('write') },
    when: (c) => someTime(c),
    build(c, k, start) {
      const reqs = paced(c, start, 8, 30, 90, (t, i) => hit(t, usual(k!), k!.ua, k!.fp, 'POST', i % 3 === 2 ? '/api/v1/statuses' : `/api/v1/statuses/${statusId(c.r)}/favourite`));
      return { reqs, origin: 'usual', description: 'a reader key that holds write starts favouriting and posting' };
    },
  },
  {
    rule: 'token-new-origin',
    victim: { profile: 'third-party-app', unmanaged: true },
    when: (c) => someTime(c),
    build(c, k, start) {
      const o = c.nets.hostile('vps');
      const ua = pick(c.r, ATTACKER_UAS);
      const reqs = paced(c, start, 40, 20, 60, (t, i) => hit(t, o, ua, k!.fp, 'GET', i === 0 ? '/api/v1/accounts/verify_credentials' : `/api/v1/accounts/${accountId(c.r, 500)}/statuses?limit=40`));
      return { reqs, origin: 'new', description: `a user's stolen app token used from ${o.network} (${o.asName}) with ${ua}` };
    },
  },
];
