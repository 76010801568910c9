import type { Finding } from '../../src/core/finding.js';
import type { KeyInfo, KeyInfoLookup } from '../../src/respond/types.js';

/** A raw token that must never appear in an alert, a log or the audit chain. */
export const RAW_TOKEN = 'ZA-secret-token-6b3f0e8c1d2a4f5e9a7b6c5d4e3f2a1b0c9d8e7f';

export function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    id: 'f-admin-mass-action-bot-1',
    rule: 'admin-mass-action',
    severity: 'critical',
    key: 'moderation-bot',
    fingerprint: 'fp_3b9ac4d1e2f0a7c6',
    group: { 'tuskguard.key.id': 'moderation-bot' },
    at: '2025-03-01T12:00:00.000Z',
    detected_at: '2025-03-01T12:00:00.400Z',
    summary: 'moderation-bot made 42 admin write actions within 5m (threshold 10).',
    labels: { tactic: 'TA0040 Impact', technique: 'T1531 Account Access Removal' },
    evidence: {
      explanation: '42 admin write actions in 5 minutes; this key averages 0.3 per hour.',
      count: 42,
      threshold: 10,
      baseline: { median: 0.3 },
      values: ['POST /api/v1/admin/accounts/:id/action', `GET /api/v1/admin/accounts?access_token=${RAW_TOKEN}`],
      sample_event_ids: ['ev-1', 'ev-2'],
    },
    ...overrides,
  };
}

export const KEYS: Record<string, KeyInfo> = {
  'moderation-bot': { id: 'moderation-bot', scopes: ['read', 'admin:read', 'admin:write:accounts'], labels: { team: 'trust' }, kind: 'app', owner: 'trust@example.org', fingerprint: 'fp_3b9ac4d1e2f0a7c6' },
  'posting-bot': { id: 'posting-bot', scopes: ['read:statuses', 'write'], labels: { env: 'prod' }, kind: 'app', owner: 'comms@example.org', fingerprint: 'fp_aa11bb22cc33dd44' },
  'vip-bot': { id: 'vip-bot', scopes: ['read'], labels: { protected: 'true' }, kind: 'user', owner: 'ceo@example.org', fingerprint: 'fp_9988776655443322' },
};

export const keyLookup: KeyInfoLookup = { get: (id) => KEYS[id] ?? null };
