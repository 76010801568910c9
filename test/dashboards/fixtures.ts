import type { Event } from '../../src/core/event.js';
import type { Finding } from '../../src/core/finding.js';
import { GENESIS_HASH, toActionRecord, type AuditRecord } from '../../src/respond/audit.js';
import type { ActionRecord } from '../../src/store/types.js';
import { DAY, FP_A, FP_B, FP_UNKNOWN, NOW, at, event, finding } from '../store/fixtures.js';

/**
 * A small, fully known population for the dashboards' queries: two managed keys, one token
 * that matches no key, one request without a token; five findings; and action records made by
 * the responder's own mirror function (`toActionRecord`) from audit records shaped like those
 * the revocation service, rotation cut-over, dispatcher and approvals write.
 */

export const FROM = new Date(NOW.getTime() - 2 * DAY).toISOString();
export const TO = NOW.toISOString();

export function events(): Event[] {
  const bot = [1, 2, 3, 4, 5, 6].map((n) => event(n, { 'tuskguard.key_id': 'key-bot', 'http.response.status_code': 200 }));
  const feed = [7, 8, 9].map((n) =>
    event(n, {
      'tuskguard.fingerprint': FP_B, 'tuskguard.key_id': 'key-feed', 'mastodon.route': 'GET /api/v1/timelines/home',
      'http.response.status_code': n === 9 ? 403 : 200, 'source.ip': `198.51.100.${n}`, 'source.network': '198.51.100.0/24',
      'source.geo.country_iso_code': 'DE', 'source.as.number': 64_501, 'source.as.organization.name': 'Other Cloud GmbH',
    }),
  );
  const unknown = [10, 11].map((n) =>
    event(n, {
      'tuskguard.fingerprint': FP_UNKNOWN, 'tuskguard.key_id': null, 'mastodon.route': 'GET /api/v1/accounts/verify_credentials',
      'http.response.status_code': 401, 'source.ip': `192.0.2.${n}`, 'source.network': '192.0.2.0/24',
      'source.geo.country_iso_code': 'US', 'source.as.number': 64_502, 'source.as.organization.name': 'Scan Corp',
    }),
  );
  const anonymous = event(12, { 'tuskguard.fingerprint': undefined, 'tuskguard.key_id': undefined, 'mastodon.route': 'GET /api/v1/instance' });
  return [...bot, ...feed, ...unknown, anonymous];
}

export function findings(): Finding[] {
  return [
    finding(1, { rule: 'token-new-country', severity: 'high', key: 'key-bot' }),
    finding(2, { rule: 'token-new-country', severity: 'high', key: 'key-bot' }),
    finding(3, { rule: 'unknown-fingerprint', severity: 'critical', key: null, fingerprint: FP_UNKNOWN, summary: 'an unknown token was used 2 times' }),
    finding(4, { rule: 'rate-spike', severity: 'medium', key: 'key-feed', fingerprint: FP_B }),
    finding(5, { rule: 'off-hours', severity: 'low', key: 'key-bot' }),
  ];
}

type Entry = Pick<AuditRecord, 'actor' | 'action' | 'result'> & Partial<Pick<AuditRecord, 'target' | 'finding_id' | 'details'>>;

const ENTRIES: Entry[] = [
  // Revocation service and rotation cut-over: the key id is the target, the fingerprint a detail.
  { actor: 'tuskguard', action: 'key.revoke', result: 'done', target: 'key-bot', finding_id: 'finding-1', details: { fingerprint: FP_A } },
  { actor: 'cli:ops', action: 'key.revoke', result: 'pending', target: 'key-feed', details: { fingerprint: FP_B } },
  { actor: 'tuskguard', action: 'key.rotate', result: 'done', target: 'key-feed', details: { fingerprint: 'd'.repeat(32), old_fingerprint: FP_B } },
  // Dispatcher and approvals: key, rule and policy are details.
  { actor: 'tuskguard', action: 'notify-slack', result: 'queued', finding_id: 'finding-1', details: { key: 'key-bot', fingerprint: FP_A, rule: 'token-new-country', policy: 'page-on-call', dry_run: true } },
  { actor: 'person:alice', action: 'approval.approve', result: 'approved', details: { policy: 'contain', rule: 'token-new-country', key: 'key-bot' } },
  { actor: 'person:bob', action: 'approval.deny', result: 'denied', details: { policy: 'contain', rule: 'rate-spike', key: 'key-feed' } },
  { actor: 'tuskguard', action: 'breaker.open', result: 'open', target: 'revocation-budget', finding_id: 'finding-3', details: { policy: 'contain' } },
  { actor: 'person:alice', action: 'breaker.reset', result: 'closed', target: 'revocation-budget' },
];

export function actions(): ActionRecord[] {
  return ENTRIES.map((e, i) =>
    toActionRecord({
      seq: i + 1, at: at(-DAY + (i + 1) * 60_000), reason: `reason ${i + 1}`, finding_id: null, evidence_ref: null, target: null, details: {},
      prev_hash: GENESIS_HASH, hash: String(i + 1).padStart(64, '0'), ...e,
    }),
  );
}
