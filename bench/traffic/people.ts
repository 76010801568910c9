import { type KeyWriter, accountId, perHour, searchUri, statusId } from './kit.js';
import { HOUR, MIN, type Origin, SEC, isWeekend, localDays, localHour } from './model.js';
import { type Rng, between, intBetween, weighted } from './random.js';

/**
 * Benign traffic of keys behind people: a desk tool in office hours, phone apps and web
 * sessions in short sessions through the day, from home, the office or a mobile carrier.
 * Sessions stay inside each key's usual hours, so a person's routine is learnable.
 */

type Action = 'home' | 'notifications' | 'context' | 'account' | 'favourite' | 'marker' | 'reblog' | 'search' | 'post' | 'bookmarks';

const SESSION_MIX: ReadonlyArray<readonly [Action, number]> = [
  ['home', 35], ['notifications', 15], ['context', 15], ['account', 8], ['favourite', 8],
  ['marker', 5], ['reblog', 4], ['search', 4], ['post', 3], ['bookmarks', 3],
];

function act(w: KeyWriter, t: number, a: Action, o: Origin): void {
  const r = w.r;
  const req = (method: string, uri: string) => w.req(t, method, uri, o);
  switch (a) {
    case 'home': return req('GET', '/api/v1/timelines/home?limit=20');
    case 'notifications': return req('GET', '/api/v1/notifications?limit=15');
    case 'context': return req('GET', `/api/v1/statuses/${statusId(r)}/context`);
    case 'account': return req('GET', `/api/v1/accounts/${accountId(r, 5_000)}/statuses?limit=20`);
    case 'favourite': return req('POST', `/api/v1/statuses/${statusId(r)}/favourite`);
    case 'marker': return req('POST', '/api/v1/markers');
    case 'reblog': return req('POST', `/api/v1/statuses/${statusId(r)}/reblog`);
    case 'search': return req('GET', searchUri(r));
    case 'post': return req('POST', '/api/v1/statuses');
    case 'bookmarks': return req('GET', '/api/v1/bookmarks');
  }
}

/** A carrier hands out a new address per session, from one of its two /24s. */
function sessionOrigin(o: Origin, r: Rng): Origin {
  if (o.role !== 'carrier') return o;
  const [a, b, c] = o.ip.split('.');
  const third = (Number(c) & ~1) + intBetween(r, 0, 1);
  const ip = `${a}.${b}.${third}.${intBetween(r, 2, 250)}`;
  return { ...o, ip, network: `${a}.${b}.${third}.0/24` };
}

/** One app session: opens with home, notifications and markers, then browses at its pace. */
function session(w: KeyWriter, start: number, minutes: number, o: Origin): void {
  const pace = w.k.p.pace ?? 20;
  const end = start + minutes * MIN;
  w.req(start, 'GET', '/api/v1/timelines/home?limit=20', o);
  w.req(start + SEC, 'GET', '/api/v1/notifications?limit=15', o);
  w.req(start + 2 * SEC, 'GET', '/api/v1/markers?timeline[]=home&timeline[]=notifications', o);
  for (let t = start + pace * SEC; t < end; t += between(w.r, 0.5, 1.5) * pace * SEC) act(w, t, weighted(w.r, SESSION_MIX), o);
}

/**
 * A session starts within the first 45 minutes of its slot's hour and lasts at most 12, so a
 * person's app is active in the same hours every day (their routine) and never spills into
 * an hour it does not use.
 */
interface Slot {
  hour: number;
  place: Origin['role'];
}

const WEEKDAY_SLOTS: Slot[] = [
  { hour: 7, place: 'carrier' },
  { hour: 12, place: 'office' },
  { hour: 19, place: 'home' },
  { hour: 21, place: 'home' },
  { hour: 17, place: 'office' },
];
const WEEKEND_SLOTS: Slot[] = [
  { hour: 10, place: 'home' },
  { hour: 15, place: 'carrier' },
  { hour: 20, place: 'home' },
  { hour: 12, place: 'home' },
  { hour: 18, place: 'carrier' },
];

/** A person's app (phone or browser): `sessions` of the day's slots, each 3-12 minutes. */
export function appSessions(w: KeyWriter, from: number, to: number): void {
  const count = w.k.p.sessions ?? 3;
  const byRole = (role: Origin['role']) => w.k.origins.find((o) => o.role === role) ?? w.k.origins[0]!;
  for (const d of localDays(from, to, w.k.tz)) {
    const slots = isWeekend(d + 12 * HOUR, w.k.tz) ? WEEKEND_SLOTS : WEEKDAY_SLOTS;
    for (const slot of slots.slice(0, count)) {
      const start = d + (slot.hour + between(w.r, 0, 0.75)) * HOUR;
      if (start < from || start >= to) continue;
      session(w, start, intBetween(w.r, 3, 12), sessionOrigin(byRole(slot.place), w.r));
    }
  }
}

/** A web session also holds a streaming connection, logged when the tab closes. */
export function webSessions(w: KeyWriter, from: number, to: number): void {
  appSessions(w, from, to);
  const opened = w.reqs.filter((q) => q.uri.startsWith('/api/v1/markers?')).map((q) => q.t);
  for (const t of opened) w.req(t + intBetween(w.r, 3, 12) * MIN, 'GET', '/api/v1/streaming?stream=user', undefined, 101);
}

/**
 * A desk tool in office hours (weekdays, lighter 10-16 on weekends for some): reads the home
 * timeline, notifications, searches and accounts; posts a few times a day and favourites.
 */
export function officeApp(w: KeyWriter, from: number, to: number): void {
  const { rate, from: h0, to: h1, weekend, posts } = w.k.p as { rate: number; from: number; to: number; weekend: number; posts: number };
  const level = (t: number): number => {
    const h = localHour(t, w.k.tz);
    if (isWeekend(t, w.k.tz)) return weekend && h >= 10 && h < 16 ? 0.25 : 0;
    if (h < h0 || h >= h1) return 0;
    return h === 12 ? 0.6 : 1;
  };
  const reads: ReadonlyArray<readonly [Action, number]> = [['home', 40], ['notifications', 30], ['search', 10], ['account', 10], ['context', 10]];
  perHour(w, from, to, (h) => rate * level(h), (t) => act(w, t, weighted(w.r, reads), w.k.origins[0]!));
  perHour(w, from, to, (h) => (posts / (h1 - h0)) * level(h), (t) => w.req(t, 'POST', '/api/v1/statuses'));
  perHour(w, from, to, (h) => 1 * level(h), (t) => w.req(t, 'POST', `/api/v1/statuses/${statusId(w.r)}/favourite`));
}
