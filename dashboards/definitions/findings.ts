import { dashboard, savedSearch } from '../lib/dashboard.js';
import { count, distinct, latest, lens, time, top } from '../lib/lens.js';
import type { SavedObject } from '../lib/saved-objects.js';

/**
 * "Findings": what detection flagged, by rule, severity and key. Reads the findings data view,
 * whose time field is `at` (the event time of the event that triggered the finding).
 */

export const HIGH_OR_CRITICAL = 'severity:(high OR critical)';

export function findings(): SavedObject[] {
  const latestFindings = savedSearch({
    id: 'tuskguard-search-findings',
    title: 'tuskguard: latest findings',
    description: 'Every finding with its summary, newest first.',
    family: 'findings',
    query: '',
    columns: ['severity', 'rule', 'key', 'fingerprint', 'summary', 'evidence.explanation'],
    sort: [['at', 'desc']],
  });
  const urgent = savedSearch({
    id: 'tuskguard-search-findings-high',
    title: 'tuskguard: high and critical findings',
    description: 'Findings of severity high or critical, newest first.',
    family: 'findings',
    query: HIGH_OR_CRITICAL,
    columns: ['severity', 'rule', 'key', 'fingerprint', 'summary'],
    sort: [['at', 'desc']],
  });

  const totals = lens({
    id: 'tuskguard-lens-findings-total', title: 'Findings', description: 'Findings in the time range, and how many are high or critical.',
    family: 'findings', columns: { findings: count('Findings'), urgent: count('High or critical', HIGH_OR_CRITICAL) },
    chart: { type: 'metric', metric: 'findings', secondary: 'urgent' },
  });
  const byRule = lens({
    id: 'tuskguard-lens-findings-by-rule', title: 'Findings over time by rule', description: 'Which rules fire, and when.',
    family: 'findings', columns: { rule: top('rule', 10, 'Rule'), time: time('findings'), findings: count('Findings') },
    chart: { type: 'bar_stacked', x: 'time', y: ['findings'], split: 'rule' },
  });
  const bySeverity = lens({
    id: 'tuskguard-lens-findings-by-severity', title: 'Findings over time by severity', description: 'Findings per severity over time.',
    family: 'findings', columns: { severity: top('severity', 4, 'Severity'), time: time('findings'), findings: count('Findings') },
    chart: { type: 'bar_stacked', x: 'time', y: ['findings'], split: 'severity' },
  });
  const topKeys = lens({
    id: 'tuskguard-lens-findings-top-keys', title: 'Keys with the most findings', description: 'Managed keys by findings; "(missing value)" collects findings about unknown tokens and addresses.',
    family: 'findings',
    columns: {
      key: top('key', 20, 'Key', true), findings: count('Findings'), urgent: count('High or critical', HIGH_OR_CRITICAL),
      rules: distinct('rule', 'Rules'), last: latest('at', 'Last finding'),
    },
    chart: { type: 'table' },
  });
  const rules = lens({
    id: 'tuskguard-lens-findings-rules', title: 'Rules and severities', description: 'Each rule with its severity, findings and keys affected.',
    family: 'findings',
    columns: {
      rule: top('rule', 30, 'Rule'), severity: top('severity', 4, 'Severity'), findings: count('Findings'),
      keys: distinct('key', 'Keys'), last: latest('at', 'Last finding'),
    },
    chart: { type: 'table' },
  });

  const board = dashboard({
    id: 'tuskguard-dashboard-findings',
    title: 'tuskguard: Findings',
    description: 'Detection findings by rule, severity and key, with the latest findings and their summaries.',
    from: 'now-7d',
    panels: [
      { object: totals, w: 12, h: 14 }, { object: byRule, w: 18, h: 14 }, { object: bySeverity, w: 18, h: 14 },
      { object: topKeys, w: 24, h: 15 }, { object: rules, w: 24, h: 15 },
      { object: latestFindings, w: 48, h: 20 },
    ],
  });
  return [latestFindings, urgent, totals, byRule, bySeverity, topKeys, rules, board];
}
