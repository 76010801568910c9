import { dashboard, savedSearch } from '../lib/dashboard.js';
import { count, latest, lens, time, top } from '../lib/lens.js';
import type { SavedObject } from '../lib/saved-objects.js';

/**
 * "Actions & audit": what the responder, the key services and people did. Reads the actions
 * data view, the store's mirror of the audit chain (respond/audit.ts `toActionRecord`):
 * `action` is the audit action (`key.revoke`, `key.rotate`, `approval.approve`,
 * `breaker.open`, `notify-slack`, …), `outcome` its result (`done`, `pending`, `failed`, …).
 * Policy-driven actions use the action module id (`revoke`, `rotate`) once those modules ship.
 */

export const REVOCATIONS = 'action:(key.revoke OR revoke)';
export const ROTATIONS = 'action:(key.rotate OR rotate)';
export const APPROVALS = 'action:approval.*';
export const BREAKER = 'action:breaker.*';

export function actions(): SavedObject[] {
  const trail = savedSearch({
    id: 'tuskguard-search-audit',
    title: 'tuskguard: audit trail',
    description: 'Every recorded action, approval and breaker change with who, why and the outcome, newest first.',
    family: 'actions',
    query: '',
    columns: ['action', 'actor', 'outcome', 'key', 'fingerprint', 'rule', 'policy', 'finding', 'dry_run', 'reason'],
    sort: [['@timestamp', 'desc']],
  });
  const breakerSearch = savedSearch({
    id: 'tuskguard-search-breaker',
    title: 'tuskguard: revocation breaker trips and resets',
    description: 'When the revocation budget stopped automatic revocations, and who reset it.',
    family: 'actions',
    query: BREAKER,
    columns: ['action', 'actor', 'outcome', 'policy', 'finding', 'reason'],
    sort: [['@timestamp', 'desc']],
  });

  const breaker = lens({
    id: 'tuskguard-lens-breaker', title: 'Breaker trips', description: 'Times the revocation circuit breaker opened, and how often a person reset it.',
    family: 'actions', query: BREAKER,
    columns: { trips: count('Trips', 'action:"breaker.open"'), resets: count('Resets', 'action:"breaker.reset"') },
    chart: { type: 'metric', metric: 'trips', secondary: 'resets' },
  });
  const overTime = lens({
    id: 'tuskguard-lens-actions-over-time', title: 'Actions over time', description: 'Every recorded action by kind.',
    family: 'actions', columns: { action: top('action', 15, 'Action'), time: time('actions'), actions: count('Actions') },
    chart: { type: 'bar_stacked', x: 'time', y: ['actions'], split: 'action' },
  });
  const outcomes = lens({
    id: 'tuskguard-lens-action-outcomes', title: 'Outcomes', description: 'Results of all actions (done, pending, failed, dry-run, approval-pending, …).',
    family: 'actions', columns: { outcome: top('outcome', 10, 'Outcome'), actions: count('Actions') },
    chart: { type: 'donut', groups: ['outcome'], metric: 'actions' },
  });
  const keyTable = (id: string, title: string, description: string, query: string) =>
    lens({
      id, title, description, family: 'actions', query,
      columns: {
        key: top('key', 20, 'Key', true), fingerprint: top('fingerprint', 5, 'Fingerprint', true), outcome: top('outcome', 5, 'Outcome'),
        actions: count('Count'), last: latest('@timestamp', 'Last'),
      },
      chart: { type: 'table' },
    });
  const revocations = keyTable('tuskguard-lens-revocations', 'Revocations', 'Revocations per key and outcome (done = Mastodon confirmed 401).', REVOCATIONS);
  const rotations = keyTable('tuskguard-lens-rotations', 'Rotations', 'Rotations per key and outcome (done, rolled-back, …).', ROTATIONS);
  const approvals = lens({
    id: 'tuskguard-lens-approvals', title: 'Approvals', description: 'Held actions that people approved or denied, and those that expired.',
    family: 'actions', query: APPROVALS,
    columns: { decision: top('action', 5, 'Decision'), actor: top('actor', 10, 'By'), decisions: count('Decisions'), last: latest('@timestamp', 'Last') },
    chart: { type: 'table' },
  });
  const dryRun = lens({
    id: 'tuskguard-lens-dry-run', title: 'Dry-run vs live', description: 'Actions only simulated (dry run) against actions carried out.',
    family: 'actions', columns: { dry: top('dry_run', 2, 'Dry run'), actions: count('Actions') },
    chart: { type: 'donut', groups: ['dry'], metric: 'actions' },
  });

  const board = dashboard({
    id: 'tuskguard-dashboard-actions',
    title: 'tuskguard: Actions & audit',
    description: 'Revocations, rotations, approvals and revocation-breaker trips from the audit chain mirror. `tuskguard audit verify` proves the chain itself intact.',
    from: 'now-30d',
    panels: [
      { object: breaker, w: 12, h: 12 }, { object: overTime, w: 24, h: 12 }, { object: outcomes, w: 12, h: 12 },
      { object: revocations, w: 24, h: 15 }, { object: rotations, w: 24, h: 15 },
      { object: approvals, w: 32, h: 12 }, { object: dryRun, w: 16, h: 12 },
      { object: trail, w: 48, h: 20 },
    ],
  });
  return [trail, breakerSearch, breaker, overTime, outcomes, revocations, rotations, approvals, dryRun, board];
}
