import { tokenNewOrigin } from './scenarios-unmanaged.js';
import { DAY, HOUR, MIN, ROUTE, type Req, type Scenario, UA, at, every, fpOf, workingHours } from './lib.js';

/**
 * One scenario per rule: the attack the rule exists for, plus the hard negatives that must stay
 * quiet (planned growth, a server move within the same /24, a client upgrade, and rule-specific
 * look-alikes). Expected findings are written by hand in test/rules/<rule>/expect.json; the
 * comments here give the arithmetic behind each expected time.
 */

const active = (...ids: string[]) => ids.map((id) => ({ id, fingerprint: fpOf(id), status: 'active' }));
const poll = (key: string, from: number, to: number, step: number, ip: string, ua: string, uri: string): Req[] =>
  every(from, to, step, (t) => ({ t, key, ip, ua, uri }));

export function keyNewOrigin(): Scenario {
  const from = at('2026-10-19T00:00:00Z');
  const to = at('2026-10-30T00:00:00Z');
  const change = at('2026-10-27T12:00:00Z');
  const growthDay = (t: number) => t >= at('2026-10-28T00:00:00Z') && t < at('2026-10-29T00:00:00Z');
  return {
    keys: active('bot-a', 'bot-b', 'app-c', 'bot-d', 'bot-e'),
    reqs: [
      ...poll('bot-a', from + 3 * MIN, to, 10 * MIN, '203.0.113.10', UA.bot, ROUTE.home),
      // Attack: bot-a's token read from a new network with a new client → fires on the first (14:00:00).
      ...every(at('2026-10-29T14:00:00Z'), at('2026-10-29T14:05:00Z'), MIN, (t, i) => ({ t, key: 'bot-a', ip: '198.51.100.23', ua: UA.python, uri: ROUTE.accountStatuses(100 + i) })),
      // A refused request from elsewhere is not use of the key.
      { t: at('2026-10-29T16:00:00Z'), key: 'bot-a', ip: '100.64.1.1', ua: UA.curl, uri: ROUTE.verify, status: 401 },
      // Server move within 203.0.113.0/24.
      ...every(from + 5 * MIN, to, 10 * MIN, (t) => ({ t, key: 'bot-b', ip: t < change ? '203.0.113.20' : '203.0.113.77', ua: UA.bot, uri: ROUTE.notifications })),
      // Client upgrade: Tusky 25.2 → 26.0.
      ...every(from + 7 * MIN, to, 15 * MIN, (t) => ({ t, key: 'app-c', ip: '192.0.2.44', ua: t < change ? UA.tusky : UA.tuskyNew, uri: ROUTE.home })),
      // Planned growth: twice the rate on 28 Oct.
      ...every(from + MIN, to, 5 * MIN, (t, i) => (growthDay(t) || i % 2 === 0 ? { t, key: 'bot-d', ip: '203.0.113.40', ua: UA.bot, uri: ROUTE.home } : null)),
      // A new key: everything is new while it learns (7 days from 27 Oct).
      ...every(at('2026-10-27T08:00:00Z'), to, 30 * MIN, (t, i) =>
        i % 3 === 0 ? { t, key: 'bot-e', ip: '198.51.100.200', ua: UA.curl, uri: ROUTE.home } : { t, key: 'bot-e', ip: '192.0.2.150', ua: UA.bot, uri: ROUTE.home },
      ),
    ],
  };
}

/** Seconds between reads of an office reader key at time t (40/h in office hours). */
export function readerStep(t: number): number {
  const d = new Date(t);
  const h = d.getUTCHours();
  const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
  if (weekend) return h >= 10 && h < 18 ? 360 : 1800;
  if (h >= 8 && h < 18) return 90;
  return h >= 6 && h < 22 ? 360 : 1800;
}

/** Events at t ≡ phase (mod step(t)) on a 15-second grid. */
export function paced(from: number, to: number, phase: number, stepS: (t: number) => number, make: (t: number) => Req): Req[] {
  return every(from, to, 15_000, (t) => ((t / 1000 - phase) % stepS(t) === 0 ? make(t) : null));
}

export function readVolumeExfiltration(): Scenario {
  const from = at('2026-10-22T00:00:00Z');
  const to = at('2026-10-29T12:00:00Z');
  const attack = at('2026-10-29T10:00:00Z');
  const oct29 = (t: number) => t >= at('2026-10-29T00:00:00Z');
  return {
    keys: active('reader', 'reader-busy'),
    reqs: [
      // reader: 10 reads per 15 minutes in office hours (every 90 s, at :00:45, :02:15, …).
      ...paced(from, to, 45, readerStep, (t) => ({ t, key: 'reader', ip: '203.0.113.50', ua: UA.feed, uri: ROUTE.home })),
      // Attack: a read every 1.5 s from 10:00:00 (same host: an insider or a compromised box).
      // In the 10:00 bucket, attack k and the benign reads at 10:00:45 and 10:02:15 make 100
      // (= min_value, above 4 × median 10 and median + 6σ) at k = 97: 10:02:25.500.
      ...every(attack, attack + 30 * MIN, 1_500, (t, k) => ({ t, key: 'reader', ip: '203.0.113.50', ua: UA.feed, uri: ROUTE.accountStatuses(2000 + k) })),
      // reader-busy: 60 reads per 15 min, weekdays 09-12; doubled on 29 Oct (120 < 4 × 60, though
      // above median + 6σ ≈ 106: min_ratio is what keeps planned growth quiet).
      ...every(from, to, 7_500, (t, i) =>
        workingHours(t, 9, 12) && (oct29(t) || i % 2 === 0) ? { t, key: 'reader-busy', ip: t < at('2026-10-27T00:00:00Z') ? '203.0.113.51' : '203.0.113.52', ua: UA.bot, uri: ROUTE.home } : null,
      ),
    ],
  };
}

/** Routes the probing key tries, in order; the 5th distinct one is DELETE at 11:01:20. */
const PROBES: Array<[string, string]> = [
  ['POST', ROUTE.statuses],
  ['POST', ROUTE.favourite(1)],
  ['GET', '/api/v1/admin/accounts'],
  ['POST', '/api/v1/follow_requests/2/authorize'],
  ['DELETE', ROUTE.status(3)], // 5th distinct route at 11:00:00 + 4 × 20 s = 11:01:20
  ['GET', ROUTE.adminReports],
  ['POST', '/api/v2/media'],
];
const GRANTED: Array<[string, string]> = [
  ['GET', ROUTE.home],
  ['GET', ROUTE.notifications],
  ['GET', ROUTE.verify],
  ['POST', ROUTE.statuses],
  ['POST', ROUTE.favourite(9)],
  ['GET', ROUTE.status(5)],
  ['GET', '/api/v1/lists'],
  ['GET', '/api/v1/bookmarks'],
];

export function scopeProbing(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T12:00:00Z');
  const suspended = at('2026-10-29T10:00:00Z');
  return {
    keys: [
      { id: 'probe-target', fingerprint: fpOf('probe-target'), status: 'active', scopes: ['read'] },
      { id: 'suspended-owner', fingerprint: fpOf('suspended-owner'), status: 'active', scopes: ['read', 'write'] },
    ],
    reqs: [
      ...poll('probe-target', from + MIN, to, 10 * MIN, '203.0.113.30', UA.feed, ROUTE.home),
      ...PROBES.map(([method, uri], k) => ({ t: at('2026-10-29T11:00:00Z') + k * 20_000, key: 'probe-target', ip: '198.51.100.66', ua: UA.curl, method, uri, status: 403 })),
      // The owner's account is suspended at 10:00: 403 on eight routes the key is granted.
      ...every(from, to, 5 * MIN, (t, i) => {
        const [method, uri] = GRANTED[i % GRANTED.length]!;
        return { t, key: 'suspended-owner', ip: '192.0.2.70', ua: UA.ivory, method, uri, status: t < suspended ? 200 : 403 };
      }),
      // An unmanaged client retrying one forbidden call: one route, however often.
      ...every(at('2026-10-29T10:00:00Z'), at('2026-10-29T10:30:00Z'), 30_000, (t) => ({ t, key: 'retry-loop', ip: '192.0.2.71', ua: UA.python, method: 'POST', uri: ROUTE.statuses, status: 403 })),
    ],
  };
}

export function adminMassAction(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T06:00:00Z');
  const oct29 = at('2026-10-29T00:00:00Z');
  const action = (t: number, key: string, id: number, ip = '203.0.113.60', ua: string = UA.modTool): Req => ({ t, key, ip, ua, method: 'POST', uri: ROUTE.adminAction(id) });
  return {
    keys: active('mod-bot', 'mod-cleanup'),
    reqs: [
      ...poll('mod-bot', from + 30_000, to, 5 * MIN, '203.0.113.60', UA.modTool, ROUTE.adminReports),
      // One action an hour at :17; twice (also :47) from 29 Oct: planned growth.
      ...every(from + 17 * MIN, to, 30 * MIN, (t, i) => (i % 2 === 0 || t >= oct29 ? action(t, 'mod-bot', 300 + i) : null)),
      // Attack: an action every 10 s from 02:00:00; the 15th (threshold) at 02:02:20.
      ...every(at('2026-10-29T02:00:00Z'), at('2026-10-29T02:06:40Z'), 10_000, (t, k) => action(t, 'mod-bot', 5000 + k, '198.51.100.99', UA.python)),
      // A moderator's batch of 10 suspensions in 5 minutes stays under the threshold.
      ...every(at('2026-10-28T15:00:00Z'), at('2026-10-28T15:05:00Z'), 30_000, (t, k) => action(t, 'mod-cleanup', 700 + k, '192.0.2.61')),
    ],
  };
}

export function adminEnumeration(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T06:00:00Z');
  const oct29 = at('2026-10-29T00:00:00Z');
  return {
    keys: active('mod-reader', 'mod-batch'),
    reqs: [
      // Reports every 5 min (every 2.5 min from 29 Oct: planned growth) — one distinct path.
      ...every(from + 30_000, to, 150_000, (t, i) => (i % 2 === 0 || t >= oct29 ? { t, key: 'mod-reader', ip: '203.0.113.61', ua: UA.modTool, uri: ROUTE.adminReports } : null)),
      // Three reported accounts looked at each hour, at :40-:42.
      ...every(from, to, HOUR, (t, h) => [0, 1, 2].map((k) => ({ t: t + (40 + k) * MIN, key: 'mod-reader', ip: '203.0.113.61', ua: UA.modTool, uri: ROUTE.adminAccount(100 + ((h + k) % 7)) }))).filter(
        (r) => r.t < to,
      ),
      // Attack from 03:00:00, an account every 3 s: reports (1) + 39 accounts = 40 at k = 38, 03:01:54.
      ...every(at('2026-10-29T03:00:00Z'), at('2026-10-29T03:06:00Z'), 3_000, (t, k) => ({ t, key: 'mod-reader', ip: '198.51.100.77', ua: UA.python, uri: ROUTE.adminAccount(1000 + k) })),
      // A moderator reviewing 20 accounts in 10 minutes.
      ...every(at('2026-10-28T14:00:00Z'), at('2026-10-28T14:10:00Z'), 30_000, (t, k) => ({ t, key: 'mod-batch', ip: '192.0.2.62', ua: UA.modTool, uri: ROUTE.adminAccount(400 + k) })),
    ],
  };
}

export function revokedKeyUse(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T12:00:00Z');
  const rotatedAt = at('2026-10-28T12:00:00Z');
  return {
    keys: [
      {
        id: 'rotated-bot',
        fingerprint: fpOf('rotated-bot-v2'),
        status: 'active',
        scopes: ['read'],
        previous_fingerprints: [{ fingerprint: fpOf('rotated-bot-v1'), retired_at: '2026-10-28T12:00:00Z' }],
      },
      { id: 'revoked-app', fingerprint: fpOf('revoked-app'), status: 'revoked', status_changed_at: '2026-10-28T18:00:00Z' },
      ...active('outside-bot', 'healthy-bot'),
    ],
    reqs: [
      // Rotation at 12:00: the consumer switches tokens; the old one's earlier use is legitimate.
      ...poll('rotated-bot-v1', from, rotatedAt, 10 * MIN, '203.0.113.70', UA.bot, ROUTE.home),
      ...poll('rotated-bot-v2', rotatedAt, to, 10 * MIN, '203.0.113.70', UA.bot, ROUTE.home),
      // The retired token presented again (a copy of it) → 09:30:00.
      ...every(at('2026-10-29T09:30:00Z'), at('2026-10-29T09:33:00Z'), MIN, (t) => ({ t, key: 'rotated-bot-v1', ip: '198.51.100.88', ua: UA.python, uri: ROUTE.home, status: 401 })),
      // revoked-app: used until its revocation at 18:00, then tried once on 29 Oct → 07:00:00.
      ...poll('revoked-app', from, at('2026-10-28T17:50:00Z'), 15 * MIN, '192.0.2.60', UA.tusky, ROUTE.home),
      { t: at('2026-10-29T07:00:00Z'), key: 'revoked-app', ip: '100.64.9.9', ua: UA.curl, uri: ROUTE.verify, status: 401 },
      // outside-bot: revoked outside tuskguard; its consumer gets 401 from 08:00 → 08:00:00, once a day.
      ...every(from, to, 10 * MIN, (t) => ({ t, key: 'outside-bot', ip: '203.0.113.71', ua: UA.bot, uri: ROUTE.notifications, status: t < at('2026-10-29T08:00:00Z') ? 200 : 401 })),
      ...poll('healthy-bot', from, to, 10 * MIN, '203.0.113.72', UA.bot, ROUTE.home),
      // Unknown tokens failing are not managed keys (token stuffing is another rule).
      ...every(at('2026-10-29T05:00:00Z'), at('2026-10-29T05:05:00Z'), 30_000, (t, k) => ({ t, key: `unknown-${k}`, ip: '198.51.100.89', ua: UA.python, uri: ROUTE.verify, status: 401 })),
    ],
  };
}

export function tokenStuffing(): Scenario {
  const from = at('2026-10-29T00:00:00Z');
  const to = at('2026-10-29T06:00:00Z');
  const managed = Array.from({ length: 12 }, (_, i) => `fleet-${i}`);
  return {
    keys: active('healthy-app', ...managed),
    reqs: [
      ...poll('healthy-app', from, to, 5 * MIN, '203.0.113.80', UA.tusky, ROUTE.home),
      // Attack: 30 unknown tokens from two hosts of 198.51.100.0/24, every 5 s; the 10th at 03:00:45.
      ...every(at('2026-10-29T03:00:00Z'), at('2026-10-29T03:02:30Z'), 5_000, (t, k) => ({ t, key: `stuffed-${k}`, ip: k % 2 ? '198.51.100.11' : '198.51.100.10', ua: UA.python, uri: ROUTE.verify, status: 401 })),
      // A client with one stale unknown token retrying for an hour.
      ...every(at('2026-10-29T01:00:00Z'), at('2026-10-29T02:00:00Z'), 20_000, (t) => ({ t, key: 'stale-token', ip: '192.0.2.80', ua: UA.bot, uri: ROUTE.home, status: 401 })),
      // A NAT with five users whose unknown tokens fail.
      ...every(at('2026-10-29T02:00:00Z'), at('2026-10-29T02:10:00Z'), 2 * MIN, (t, k) => ({ t, key: `nat-user-${k}`, ip: '203.0.113.90', ua: UA.ivory, uri: ROUTE.home, status: 401 })),
      // Twelve managed keys refused after a bulk revocation: managed, so not stuffing.
      ...managed.map((key, k) => ({ t: at('2026-10-29T04:00:00Z') + k * 10_000, key, ip: '192.0.2.99', ua: UA.bot, uri: ROUTE.home, status: 401 })),
    ],
  };
}

export function offHoursUse(): Scenario {
  const from = at('2026-10-05T00:00:00Z');
  const to = at('2026-10-29T00:00:00Z');
  const growthDay = (t: number) => t >= at('2026-10-27T00:00:00Z') && t < at('2026-10-28T00:00:00Z');
  return {
    keys: active('office-bot', 'night-batch'),
    reqs: [
      // Weekdays 09-17 every 10 min (every 5 min on 27 Oct); moved within its /24 on 20 Oct.
      ...every(from + 2 * MIN, to, 5 * MIN, (t, i) =>
        workingHours(t) && (growthDay(t) || i % 2 === 0) ? { t, key: 'office-bot', ip: t < at('2026-10-20T00:00:00Z') ? '203.0.113.110' : '203.0.113.111', ua: UA.bot, uri: ROUTE.home } : null,
      ),
      // One stray request at 20:15 on 22 Oct: fewer than 5 within the hour.
      { t: at('2026-10-22T20:15:00Z'), key: 'office-bot', ip: '203.0.113.111', ua: UA.bot, uri: ROUTE.home },
      // Attack: Wed 28 Oct 03:00, every 2 minutes; the 5th at 03:08:00.
      ...every(at('2026-10-28T03:00:00Z'), at('2026-10-28T03:30:00Z'), 2 * MIN, (t) => ({ t, key: 'office-bot', ip: '198.51.100.120', ua: UA.python, uri: ROUTE.home })),
      // A nightly batch at 02:00-02:10: night is its normal time.
      ...every(from, to, DAY, (t) => every(t + 2 * HOUR, t + 2 * HOUR + 10 * MIN, 2 * MIN, (u) => ({ t: u, key: 'night-batch', ip: '203.0.113.112', ua: UA.bot, uri: ROUTE.notifications }))),
    ],
  };
}

export function distributedLowAndSlow(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T12:00:00Z');
  const phoneNets = ['192.0.2.20', '100.64.33.7', '198.51.100.201', '203.0.113.201'];
  return {
    keys: active('feed-bot', 'fleet-bot', 'phone-user'),
    reqs: [
      ...poll('feed-bot', from, to, 10 * MIN, '203.0.113.130', UA.bot, ROUTE.home),
      // Attack: network i (1..12) first seen at 06:00 + (i-1) × 15 min, twice each; with the
      // bot's own network, the 8th distinct network is i = 7 at 07:30:00.
      ...Array.from({ length: 12 }, (_, n) => [0, 5 * MIN].map((d) => ({ t: at('2026-10-29T06:00:00Z') + n * 15 * MIN + d, key: 'feed-bot', ip: `198.51.${n + 1}.9`, ua: UA.python, uri: ROUTE.home }))).flat(),
      // A fleet behind many addresses of one /24 (servers moving around within it).
      ...every(from, to, 5 * MIN, (t, i) => ({ t, key: 'fleet-bot', ip: `203.0.113.${140 + (i % 60)}`, ua: UA.bot, uri: ROUTE.notifications })),
      // A phone: home, carrier, office, café — four networks a day, a few hours each.
      ...every(from, to, 15 * MIN, (t) => ({ t, key: 'phone-user', ip: phoneNets[Math.floor((t - from) / (6 * HOUR)) % 4]!, ua: UA.ivory, uri: ROUTE.home })),
    ],
  };
}

export function writeSpam(): Scenario {
  const from = at('2026-10-28T00:00:00Z');
  const to = at('2026-10-29T18:00:00Z');
  const post = (t: number, key: string, ip: string, ua: string): Req => ({ t, key, ip, ua, method: 'POST', uri: ROUTE.statuses });
  const busyHours = (t: number) => new Date(t).getUTCHours() >= 12 && new Date(t).getUTCHours() < 16;
  return {
    keys: active('poster-bot', 'busy-bot'),
    reqs: [
      // A post every 10 minutes at :x5:00.
      ...every(from + 5 * MIN, to, 10 * MIN, (t) => post(t, 'poster-bot', '203.0.113.150', UA.bot)),
      // Attack from 14:00:00, a post every 10 s: with the 13:55 post, 30 within 10 min at k = 28, 14:04:40.
      ...every(at('2026-10-29T14:00:00Z'), at('2026-10-29T14:15:00Z'), 10_000, (t) => post(t, 'poster-bot', '203.0.113.150', UA.bot)),
      // busy-bot posts 4/min from 12:00 to 16:00 only; 8/min on 29 Oct (planned growth, 2x its peak).
      ...every(from, to, 7_500, (t, i) => (busyHours(t) && (t >= at('2026-10-29T00:00:00Z') || i % 2 === 0) ? post(t, 'busy-bot', '203.0.113.151', UA.bot) : null)),
    ],
  };
}

export function newScopeUse(): Scenario {
  const from = at('2026-10-20T00:00:00Z');
  const to = at('2026-10-29T12:00:00Z');
  const moved = at('2026-10-27T00:00:00Z');
  return {
    keys: [
      { id: 'reader-app', fingerprint: fpOf('reader-app'), status: 'active', scopes: ['read', 'write'] },
      ...active('scoped-bot'),
    ],
    reqs: [
      // Reads home (read:statuses) and notifications (read:notifications); moves within its
      // /24 and upgrades its client on 27 Oct.
      ...every(from, to, 15 * MIN, (t, i) => ({ t, key: 'reader-app', ip: t < moved ? '203.0.113.160' : '203.0.113.161', ua: t < moved ? UA.tusky : UA.tuskyNew, uri: i % 2 ? ROUTE.notifications : ROUTE.home })),
      // A new endpoint of a scope already used (read:statuses).
      { t: at('2026-10-28T09:00:00Z'), key: 'reader-app', ip: '203.0.113.161', ua: UA.tuskyNew, uri: '/api/v1/statuses/77/context' },
      // A refused attempt at a new scope is not use.
      { t: at('2026-10-28T09:30:00Z'), key: 'reader-app', ip: '203.0.113.161', ua: UA.tuskyNew, method: 'POST', uri: ROUTE.favourite(5), status: 403 },
      // Attack: the key starts posting (write:statuses) at 10:00:00.
      ...[0, 1, 2, 3].map((k) => ({ t: at('2026-10-29T10:00:00Z') + k * MIN, key: 'reader-app', ip: '198.51.100.160', ua: UA.python, method: 'POST', uri: ROUTE.statuses })),
      // A new key adding a scope during its learning period.
      ...every(at('2026-10-26T00:00:00Z'), to, 20 * MIN, (t, i) => ({ t, key: 'scoped-bot', ip: '192.0.2.163', ua: UA.bot, method: i % 4 === 3 && t > at('2026-10-28T00:00:00Z') ? 'POST' : 'GET', uri: i % 4 === 3 && t > at('2026-10-28T00:00:00Z') ? ROUTE.favourite(i) : ROUTE.home })),
    ],
  };
}

export const RULE_SCENARIOS: Record<string, () => Scenario> = {
  'key-new-origin': keyNewOrigin,
  'read-volume-exfiltration': readVolumeExfiltration,
  'scope-probing': scopeProbing,
  'admin-mass-action': adminMassAction,
  'admin-enumeration': adminEnumeration,
  'revoked-key-use': revokedKeyUse,
  'token-stuffing': tokenStuffing,
  'off-hours-use': offHoursUse,
  'distributed-low-and-slow': distributedLowAndSlow,
  'write-spam': writeSpam,
  'new-scope-use': newScopeUse,
  'token-new-origin': tokenNewOrigin,
};
