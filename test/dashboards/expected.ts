import { FP_A, FP_B, FP_UNKNOWN } from '../store/fixtures.js';
import type { Row } from './lens-to-es.js';

/**
 * What each saved search and Lens visualization must show for the population in fixtures.ts,
 * worked out by hand from that population (not by running the queries).
 *
 * Events: key-bot ×6 (200, NL, AS64500, 203.0.113.0/24, statuses/:id); key-feed ×3 (two 200,
 * one 403, DE, AS64501); an unknown fingerprint ×2 (401, US, AS64502, verify_credentials); one
 * request without a token (200, NL, AS64500, instance). All within 12:00–12:00:12 on 14 March.
 * Terms buckets are ordered by count, ties by key (Elasticsearch's rule); a missing bucket's
 * key is `__missing__`, so it sorts before lower-case keys.
 */

const H = '2026-03-14T12:00:00.000Z';
const ev = (n: number) => `2026-03-14T12:00:${String(n).padStart(2, '0')}.000Z`;
const min = (n: number) => `2026-03-14T12:0${n}:00.000Z`;
const evId = (n: number) => `ev-${String(n).padStart(6, '0')}`;
const FP_ROTATED = 'd'.repeat(32);

export const EXPECTED_SEARCH_HITS: Record<string, string[]> = {
  'tuskguard-search-requests': [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(evId),
  'tuskguard-search-unknown-fingerprints': [11, 10].map(evId),
  'tuskguard-search-auth-failures': [11, 10, 9].map(evId),
  'tuskguard-search-findings': ['finding-5', 'finding-4', 'finding-3', 'finding-2', 'finding-1'],
  'tuskguard-search-findings-high': ['finding-3', 'finding-2', 'finding-1'],
  'tuskguard-search-audit': [8, 7, 6, 5, 4, 3, 2, 1].map((n) => `audit-${n}`),
  'tuskguard-search-breaker': ['audit-8', 'audit-7'],
};

const origins = (label: string, rows: [Row[string], number, number][]): Row[] => rows.map(([v, requests, keys]) => ({ [label]: v, requests, keys }));

export const EXPECTED_LENS_ROWS: Record<string, Row[]> = {
  // Key usage
  'tuskguard-lens-requests-total': [{ requests: 12, keys: 2 }],
  'tuskguard-lens-unknown-total': [{ requests: 2, tokens: 1 }],
  'tuskguard-lens-auth-failures-total': [{ refused: 3, unauthorized: 2 }],
  'tuskguard-lens-requests-by-key': [
    { key: 'key-bot', time: H, requests: 6 },
    { key: 'key-feed', time: H, requests: 3 },
  ],
  'tuskguard-lens-status-mix': [
    { status: 200, requests: 9 },
    { status: 401, requests: 2 },
    { status: 403, requests: 1 },
  ],
  'tuskguard-lens-auth-failures-by-key': [
    { key: null, time: H, refused: 2 },
    { key: 'key-feed', time: H, refused: 1 },
  ],
  'tuskguard-lens-unknown-fingerprints': [{ fingerprint: FP_UNKNOWN, requests: 2, sources: 2, first: ev(10), last: ev(11) }],
  'tuskguard-lens-top-routes': [
    { route: 'GET /api/v1/statuses/:id', requests: 6, keys: 1, errors: 0 },
    { route: 'GET /api/v1/timelines/home', requests: 3, keys: 1, errors: 1 },
    { route: 'GET /api/v1/accounts/verify_credentials', requests: 2, keys: 0, errors: 2 },
    { route: 'GET /api/v1/instance', requests: 1, keys: 0, errors: 0 },
  ],
  'tuskguard-lens-top-networks': origins('network', [['203.0.113.0/24', 7, 1], ['198.51.100.0/24', 3, 1], ['192.0.2.0/24', 2, 0]]),
  'tuskguard-lens-top-asns': [
    { asn: 64_500, org: 'Example Hosting B.V.', requests: 7, keys: 1 },
    { asn: 64_501, org: 'Other Cloud GmbH', requests: 3, keys: 1 },
    { asn: 64_502, org: 'Scan Corp', requests: 2, keys: 0 },
  ],
  'tuskguard-lens-top-countries': origins('country', [['NL', 7, 1], ['DE', 3, 1], ['US', 2, 0]]),
  // Findings: token-new-country high ×2 (key-bot), unknown-fingerprint critical (no key),
  // rate-spike medium (key-feed), off-hours low (key-bot); finding n at 12:0n.
  'tuskguard-lens-findings-total': [{ findings: 5, urgent: 3 }],
  'tuskguard-lens-findings-by-rule': [
    { rule: 'token-new-country', time: H, findings: 2 },
    { rule: 'off-hours', time: H, findings: 1 },
    { rule: 'rate-spike', time: H, findings: 1 },
    { rule: 'unknown-fingerprint', time: H, findings: 1 },
  ],
  'tuskguard-lens-findings-by-severity': [
    { severity: 'high', time: H, findings: 2 },
    { severity: 'critical', time: H, findings: 1 },
    { severity: 'low', time: H, findings: 1 },
    { severity: 'medium', time: H, findings: 1 },
  ],
  'tuskguard-lens-findings-top-keys': [
    { key: 'key-bot', findings: 3, urgent: 2, rules: 2, last: min(5) },
    { key: null, findings: 1, urgent: 1, rules: 1, last: min(3) },
    { key: 'key-feed', findings: 1, urgent: 0, rules: 1, last: min(4) },
  ],
  'tuskguard-lens-findings-rules': [
    { rule: 'token-new-country', severity: 'high', findings: 2, keys: 1, last: min(2) },
    { rule: 'off-hours', severity: 'low', findings: 1, keys: 1, last: min(5) },
    { rule: 'rate-spike', severity: 'medium', findings: 1, keys: 1, last: min(4) },
    { rule: 'unknown-fingerprint', severity: 'critical', findings: 1, keys: 0, last: min(3) },
  ],
  // Actions: audit-n at 12:0n — revoke done, revoke pending, rotate done, notify-slack (dry run),
  // approve, deny, breaker open, breaker reset. key.* records carry the key id only in
  // `target`, which the actions template does not map, so their key column is missing.
  'tuskguard-lens-breaker': [{ trips: 1, resets: 1 }],
  'tuskguard-lens-actions-over-time': [
    { action: 'key.revoke', time: H, actions: 2 },
    ...['approval.approve', 'approval.deny', 'breaker.open', 'breaker.reset', 'key.rotate', 'notify-slack'].map((action) => ({ action, time: H, actions: 1 })),
  ],
  'tuskguard-lens-action-outcomes': [
    { outcome: 'done', actions: 2 },
    ...['approved', 'closed', 'denied', 'open', 'pending', 'queued'].map((outcome) => ({ outcome, actions: 1 })),
  ],
  'tuskguard-lens-revocations': [
    { key: null, fingerprint: FP_A, outcome: 'done', actions: 1, last: min(1) },
    { key: null, fingerprint: FP_B, outcome: 'pending', actions: 1, last: min(2) },
  ],
  'tuskguard-lens-rotations': [{ key: null, fingerprint: FP_ROTATED, outcome: 'done', actions: 1, last: min(3) }],
  'tuskguard-lens-approvals': [
    { decision: 'approval.approve', actor: 'person:alice', decisions: 1, last: min(5) },
    { decision: 'approval.deny', actor: 'person:bob', decisions: 1, last: min(6) },
  ],
  'tuskguard-lens-dry-run': [
    { dry: false, actions: 7 },
    { dry: true, actions: 1 },
  ],
};
