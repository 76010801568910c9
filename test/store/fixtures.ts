import type { Event } from '../../src/core/event.js';
import type { Finding } from '../../src/core/finding.js';
import type { ActionRecord } from '../../src/store/types.js';

/** Fixed "now" for the conformance suite, so retention and index periods are deterministic. */
export const NOW = new Date('2026-03-15T12:00:00.000Z');
export const DAY = 86_400_000;

export const FP_A = 'a'.repeat(32);
export const FP_B = 'b'.repeat(32);
export const FP_UNKNOWN = 'c'.repeat(32);

/** `NOW` shifted by `ms`, as the ISO string an event carries. */
export function at(ms: number): string {
  return new Date(NOW.getTime() + ms).toISOString();
}

/** A complete event with every field set, varied by `n`; `over` replaces fields. */
export function event(n: number, over: Partial<Event> = {}): Event {
  return {
    '@timestamp': at(-DAY + n * 1_000),
    'event.id': `ev-${String(n).padStart(6, '0')}`,
    'event.dataset': 'joined',
    'event.ingested': at(0),
    'event.duration': 12_345_678 + n,
    'log.file.path': 'file:/var/log/nginx/access.log',
    'source.ip': `203.0.113.${n % 250}`,
    'client.ip': '198.51.100.7',
    'url.domain': 'social.example',
    'url.path': `/api/v1/statuses/${n}`,
    'url.query': 'limit=20&access_token=[REDACTED]',
    'http.request.method': 'GET',
    'http.request.id': `req-${n}`,
    'http.response.status_code': 200,
    'http.response.body.bytes': 512 + n,
    'http.request.referrer': 'https://social.example/home',
    'http.version': '1.1',
    'user_agent.original': 'Tusky/24.1 Android/14',
    'tuskguard.fingerprint': FP_A,
    'tuskguard.key_id': 'key-bot',
    'mastodon.route': 'GET /api/v1/statuses/:id',
    'mastodon.required_scopes': ['read', 'read:statuses'],
    'mastodon.controller': 'Api::V1::StatusesController',
    'mastodon.action': 'show',
    'mastodon.token': 'optional',
    'mastodon.server': 'rails',
    'mastodon.duration_ms': 23.5,
    'mastodon.db_ms': 4.25,
    'mastodon.view_ms': 11.75,
    'mastodon.unmapped': false,
    'source.geo.country_iso_code': 'NL',
    'source.geo.city_name': 'Amsterdam',
    'source.geo.location': { lat: 52.37, lon: 4.89 },
    'source.as.number': 64_500,
    'source.as.organization.name': 'Example Hosting B.V.',
    'source.network': '203.0.113.0/24',
    'user_agent.name': 'Tusky',
    ...over,
  };
}

export function finding(n: number, over: Partial<Finding> = {}): Finding {
  return {
    id: `finding-${n}`,
    rule: 'token-new-country',
    severity: 'high',
    key: 'key-bot',
    fingerprint: FP_A,
    group: { 'tuskguard.fingerprint': FP_A },
    at: at(-DAY + n * 60_000),
    detected_at: at(0),
    summary: `key-bot used from a new country (${n})`,
    labels: { tactic: 'credential-access' },
    evidence: { explanation: 'first request from NL in 30 days', count: n, values: ['NL'], sample_event_ids: [`ev-${n}`] },
    ...over,
  };
}

export function action(n: number, over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: `action-${n}`,
    '@timestamp': at(-DAY + n * 60_000),
    action: 'revoke',
    key: 'key-bot',
    fingerprint: FP_A,
    finding: `finding-${n}`,
    dry_run: n % 2 === 0,
    outcome: 'succeeded',
    details: { verified_status: 401, attempts: [1, 2] },
    ...over,
  };
}
