import { HOUR, type Req, ROUTE, type Scenario, UA, at, fpOf } from './lib.js';
import { paced } from './scenarios.js';

/**
 * The hard-negative population: five ordinary keys over 17 days (long enough for every rule's
 * learning period and for same-weekday baselines), then, from 27 Oct 12:00, one benign change
 * applied to every key at once. Every rule of the pack must stay quiet on all three variants.
 */
export type Variant = 'planned-growth' | 'server-move' | 'ua-upgrade';

const FROM = at('2026-10-12T00:00:00Z');
const TO = at('2026-10-29T00:00:00Z');
const CHANGE = at('2026-10-27T12:00:00Z');

interface Actor {
  key: string;
  /** Seconds between requests at t (a multiple of 30, so that halving it stays on the grid). */
  step(t: number): number;
  phase: number;
  ip: [before: string, after: string];
  ua: [before: string, after: string];
  req(t: number, n: number): Pick<Req, 'method' | 'uri'>;
}

const hour = (t: number) => new Date(t).getUTCHours();
const weekend = (t: number) => [0, 6].includes(new Date(t).getUTCDay());
const NEVER = 1e9;

const ACTORS: Actor[] = [
  {
    key: 'office-reader',
    step: (t) => (weekend(t) ? (hour(t) >= 10 && hour(t) < 18 ? 720 : 3600) : hour(t) >= 8 && hour(t) < 18 ? 180 : hour(t) >= 6 && hour(t) < 22 ? 720 : 3600),
    phase: 30,
    ip: ['203.0.113.50', '203.0.113.57'],
    ua: [UA.feed, 'feedreader/3.2'],
    req: (_t, n) => ({ uri: n % 3 ? ROUTE.home : ROUTE.notifications }),
  },
  {
    key: 'poster-bot',
    step: () => 1200,
    phase: 300,
    ip: ['203.0.113.150', '203.0.113.158'],
    ua: [UA.bot, 'tuskbot/1.5 (+https://bots.example)'],
    req: (_t, n) => (n % 4 === 3 ? { uri: ROUTE.favourite(n) , method: 'POST' } : { uri: ROUTE.statuses, method: 'POST' }),
  },
  {
    key: 'mod-bot',
    step: () => 600,
    phase: 60,
    ip: ['203.0.113.60', '203.0.113.66'],
    ua: [UA.modTool, 'modtool/2.1 (+https://mod.example)'],
    req: (t, n) => (n % 6 === 1 ? { uri: ROUTE.adminAction(300 + (n % 50)), method: 'POST' } : n % 6 === 4 ? { uri: ROUTE.adminAccount(100 + (n % 9)) } : { uri: ROUTE.adminReports }),
  },
  {
    key: 'phone-app',
    step: (t) => (hour(t) >= 8 && hour(t) < 23 ? 900 : NEVER),
    phase: 90,
    ip: ['192.0.2.20', '192.0.2.27'],
    ua: [UA.ivory, 'Ivory/2.5 (iOS 18.2)'],
    req: (t, n) => (n % 10 === 0 ? { uri: ROUTE.statuses, method: 'POST' } : { uri: n % 2 ? ROUTE.notifications : ROUTE.home }),
  },
  {
    key: 'stream-poller',
    step: () => 1200,
    phase: 150,
    ip: ['198.51.100.40', '198.51.100.44'],
    ua: [UA.tusky, UA.tuskyNew],
    req: () => ({ uri: ROUTE.home }),
  },
];

/** The phone also uses its carrier network in working hours: a second, equally usual origin. */
function phoneIp(t: number, home: string): string {
  return hour(t) >= 9 && hour(t) < 18 && !weekend(t) ? '100.64.33.7' : home;
}

export function population(variant: Variant): Scenario {
  const reqs: Req[] = [];
  for (const a of ACTORS) {
    let n = 0;
    const step = (t: number) => (variant === 'planned-growth' && t >= CHANGE ? a.step(t) / 2 : a.step(t));
    reqs.push(
      ...paced(FROM, TO, a.phase, step, (t) => {
        const after = t >= CHANGE;
        let ip = variant === 'server-move' && after ? a.ip[1] : a.ip[0];
        if (a.key === 'phone-app') ip = phoneIp(t, ip);
        const ua = variant === 'ua-upgrade' && after ? a.ua[1] : a.ua[0];
        return { t, key: a.key, ip, ua, ...a.req(t, n++) };
      }),
    );
  }
  return { reqs, keys: ACTORS.map((a) => ({ id: a.key, fingerprint: fpOf(a.key), status: 'active' })) };
}

export const VARIANTS: Variant[] = ['planned-growth', 'server-move', 'ua-upgrade'];
export { HOUR };
