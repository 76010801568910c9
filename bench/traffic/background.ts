import { fingerprint } from '../../src/core/fingerprint.js';
import { statusId } from './kit.js';
import { DAY, HOUR, MIN, type Req, SEC } from './model.js';
import { type Rng, intBetween, pick, poisson, secret, streamOf, weighted } from './random.js';

/**
 * Traffic without a managed key: federation (other servers delivering activities and fetching
 * profiles, with HTTP signatures, never a token), anonymous visitors and scanners, and a few
 * instance users whose app kept a token that no longer works (401 again and again from one
 * place — not token stuffing, and not a managed key).
 */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'news', 'weather'];
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0';
const SCAN_PATHS = ['/wp-login.php', '/.env', '/admin.php', '/.git/config', '/phpmyadmin/index.php', '/api/v1/../../etc/passwd'];

interface Server {
  ip: string;
  ua: string;
}

function servers(r: Rng, n: number): Server[] {
  return Array.from({ length: n }, (_, i) => ({
    ip: `198.19.${i % 200}.${intBetween(r, 2, 250)}`,
    ua: `http.rb/5.1.1 (Mastodon/4.3.${intBetween(r, 0, 2)}; +https://remote-${i}.example/)`,
  }));
}

type Kind = 'inbox' | 'profile' | 'object' | 'webfinger' | 'nodeinfo' | 'public' | 'page';
const MIX: ReadonlyArray<readonly [Kind, number]> = [['inbox', 55], ['profile', 10], ['object', 10], ['webfinger', 10], ['nodeinfo', 6], ['public', 5], ['page', 4]];

function federated(r: Rng, t: number, s: Server): Req {
  const user = pick(r, USERS);
  const base = { t, ip: s.ip, ua: s.ua, fp: '', method: 'GET', status: 200 };
  switch (weighted(r, MIX)) {
    case 'inbox': {
      const status = weighted(r, [[202, 95], [401, 4], [400, 1]]);
      return { ...base, method: 'POST', uri: r() < 0.7 ? '/inbox' : `/users/${user}/inbox`, status };
    }
    case 'profile': return { ...base, uri: `/users/${user}`, status: r() < 0.02 ? 410 : 200 };
    case 'object': return { ...base, uri: `/users/${user}/statuses/${statusId(r)}` };
    case 'webfinger': return { ...base, uri: `/.well-known/webfinger?resource=acct:${user}@social.example`, status: r() < 0.1 ? 404 : 200 };
    case 'nodeinfo': return { ...base, uri: r() < 0.5 ? '/nodeinfo/2.0' : '/api/v2/instance' };
    case 'public': return { ...base, ip: `100.71.${intBetween(r, 0, 249)}.${intBetween(r, 2, 250)}`, ua: BROWSER, uri: '/api/v1/timelines/public?local=true' };
    case 'page': return { ...base, ip: `100.71.${intBetween(r, 0, 249)}.${intBetween(r, 2, 250)}`, ua: BROWSER, uri: `/@${user}/${statusId(r)}` };
  }
}

/** Busier in the European and American daytime: a global instance's federation curve. */
function globalCurve(t: number): number {
  const h = new Date(t).getUTCHours();
  return 0.6 + 0.8 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI));
}

export interface BackgroundOptions {
  seed: number;
  from: number;
  to: number;
  /** Federation requests per hour at the average point of the day. */
  perHour: number;
  pepper: string;
}

export function background(o: BackgroundOptions): Req[] {
  const r = streamOf(o.seed, 'background');
  const fleet = servers(r, 150);
  const out: Req[] = [];
  for (let h = Math.floor(o.from / HOUR) * HOUR; h < o.to; h += HOUR) {
    const n = poisson(r, o.perHour * globalCurve(h));
    for (let i = 0; i < n; i++) out.push(federated(r, h + r() * HOUR, pick(r, fleet)));
    for (let i = poisson(r, 1.5); i > 0; i--) {
      out.push({ t: h + r() * HOUR, ip: `100.121.${intBetween(r, 0, 249)}.${intBetween(r, 2, 250)}`, ua: pick(r, ['curl/8.5.0', 'python-requests/2.31.0', 'Go-http-client/1.1']), method: 'GET', uri: pick(r, SCAN_PATHS), status: 404, fp: '' });
    }
  }
  out.push(...staleTokens(o, streamOf(o.seed, 'stale')));
  return out.filter((q) => q.t >= o.from && q.t < o.to);
}

/** Every other day an app somewhere retries a dead token for a few hours. */
function staleTokens(o: BackgroundOptions, r: Rng): Req[] {
  const out: Req[] = [];
  for (let d = o.from; d < o.to; d += 2 * DAY) {
    const fp = fingerprint(o.pepper, secret(r));
    const ip = `100.72.${intBetween(r, 0, 249)}.${intBetween(r, 2, 250)}`;
    const start = d + intBetween(r, 0, 20) * HOUR;
    const end = start + intBetween(r, 1, 4) * HOUR;
    for (let t = start; t < end; t += intBetween(r, 2, 10) * MIN + intBetween(r, 0, 59) * SEC) {
      out.push({ t, ip, ua: 'Tusky/24.1 Android/13', method: 'GET', uri: '/api/v1/timelines/home?limit=20', status: 401, fp });
    }
  }
  return out;
}
