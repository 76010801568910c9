import type { Event } from '../../src/core/event.js';
import { rng } from '../traffic/random.js';

/**
 * Deterministic events of the full event shape (every field set, values varied like a busy
 * Mastodon instance's API traffic), for store benchmarks. The same seed gives the same events.
 */

const ROUTES = [
  ['GET /api/v1/timelines/home', '/api/v1/timelines/home', ['read', 'read:statuses']],
  ['GET /api/v1/notifications', '/api/v1/notifications', ['read', 'read:notifications']],
  ['GET /api/v1/statuses/:id', '/api/v1/statuses/1133', ['read', 'read:statuses']],
  ['POST /api/v1/statuses', '/api/v1/statuses', ['write', 'write:statuses']],
  ['GET /api/v1/accounts/verify_credentials', '/api/v1/accounts/verify_credentials', ['read', 'read:accounts', 'profile']],
  ['GET /api/v2/search', '/api/v2/search', ['read', 'read:search']],
] as const;
const UAS = ['Tusky/25.2 Android/14', 'Ivory/2.0 (iPhone; iOS 18.1)', 'python-requests/2.31.0', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** `n` events spread over the day starting at `day` (UTC, one daily index), ids `bench-<i>`. */
export function syntheticEvents(n: number, day = '2026-11-24', seed = 7): Event[] {
  const r = rng(seed);
  const start = Date.parse(`${day}T00:00:00.000Z`);
  const fingerprints = Array.from({ length: 200 }, (_, i) => i.toString(16).padStart(32, '0'));
  const out: Event[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const [route, path, scopes] = pick(r, ROUTES);
    const a = Math.floor(r() * 250);
    const fp = pick(r, fingerprints);
    const ts = new Date(start + Math.floor((i / n) * 86_400_000)).toISOString();
    out[i] = {
      '@timestamp': ts,
      'event.id': `bench-${i}`,
      'event.dataset': 'joined',
      'event.ingested': ts,
      'event.duration': Math.floor(r() * 2e8),
      'log.file.path': 'file:/var/log/nginx/mastodon.json.log',
      'source.ip': `198.51.${a}.${i % 250}`,
      'client.ip': `203.0.113.${a}`,
      'url.domain': 'social.example',
      'url.path': path,
      'url.query': r() < 0.5 ? 'limit=40' : '',
      'http.request.method': route.split(' ')[0]!,
      'http.request.id': `${i.toString(16).padStart(12, '0')}-req`,
      'http.response.status_code': r() < 0.95 ? 200 : 429,
      'http.response.body.bytes': Math.floor(r() * 50_000),
      'http.request.referrer': '-',
      'http.version': '2.0',
      'user_agent.original': pick(r, UAS),
      'tuskguard.fingerprint': fp,
      'tuskguard.key_id': r() < 0.9 ? `key-${fp.slice(-3)}` : null,
      'mastodon.route': route,
      'mastodon.required_scopes': [...scopes],
      'mastodon.controller': 'Api::V1::StatusesController',
      'mastodon.action': 'show',
      'mastodon.token': 'required',
      'mastodon.server': 'rails',
      'mastodon.duration_ms': Math.round(r() * 20_000) / 100,
      'mastodon.db_ms': Math.round(r() * 5_000) / 100,
      'mastodon.view_ms': Math.round(r() * 5_000) / 100,
      'mastodon.unmapped': false,
      'source.geo.country_iso_code': 'DE',
      'source.geo.city_name': 'Berlin',
      'source.geo.location': { lat: 52.52, lon: 13.405 },
      'source.as.number': 64_496 + a,
      'source.as.organization.name': 'Example Networks GmbH',
      'source.network': `198.51.${a}.0/24`,
      'user_agent.name': 'Tusky',
    };
  }
  return out;
}
