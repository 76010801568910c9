import { createHash } from 'node:crypto';
import type { Event } from '../core/event.js';
import type { Finding } from '../core/finding.js';
import type { Scalar } from './fields.js';
import type { GroupRecord } from './state.js';
import type { Hit, Rule } from './types.js';

/**
 * Turning a Hit into a Finding: the deterministic id, the one-sentence summary, the evidence.
 */

/** Rule id + group + window: a replay or a restart computes the same id for the same finding. */
export function findingId(rule: string, groupKey: string, windowKey: string): string {
  return createHash('sha256').update(`${rule}\n${groupKey}\n${windowKey}`).digest('hex').slice(0, 32);
}

/** Replace {name} with vars[name]; unknown names stay visible rather than vanish. */
export function renderSummary(template: string, vars: Record<string, Scalar>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

function groupText(values: Record<string, string>): string {
  const entries = Object.entries(values);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'all traffic';
}

export interface FindingInput {
  rule: Rule;
  groupKey: string;
  group: GroupRecord;
  hit: Hit;
  event: Event;
  t: number;
  detectedAt: number;
}

/** Build the Finding. Key and fingerprint are set only when the rule groups by key. */
export function buildFinding({ rule, groupKey, group, hit, event, t, detectedAt }: FindingInput): Finding {
  const fingerprint = group.values['tuskguard.fingerprint'] ?? null;
  const key = group.values['tuskguard.key_id'] ?? (fingerprint ? group.key : null);
  const who = key ? `key ${key}` : fingerprint ? `unmanaged fingerprint ${fingerprint}` : groupText(group.values);
  const at = new Date(t).toISOString();
  const summary = renderSummary(rule.summary ?? '{key}: {rule} fired.', {
    ...hit.vars,
    key: who,
    fingerprint: fingerprint ?? 'none',
    rule: rule.id,
    group: groupText(group.values),
    at,
  });
  return {
    id: findingId(rule.id, groupKey, hit.windowKey),
    rule: rule.id,
    severity: rule.severity,
    key,
    fingerprint,
    group: { ...group.values },
    at,
    detected_at: new Date(detectedAt).toISOString(),
    summary,
    labels: { ...rule.labels },
    evidence: {
      explanation: rule.description.trim(),
      why: hit.why,
      ...hit.evidence,
      window_start: new Date(hit.windowStart).toISOString(),
      trigger_event_id: event['event.id'],
      sample_event_ids: [...group.samples],
    },
  };
}
