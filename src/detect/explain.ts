import type { Finding } from '../core/finding.js';
import type { RuleIssue } from './schema.js';

/**
 * Human text for findings and rule problems (`rules test`, `rules validate`): what fired,
 * for whom, and why, with the figures that justify it. Never prints an event's content
 * beyond its id: events were already scrubbed, but a finding needs no more than ids.
 */

function figure(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (v !== null && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k} ${figure(x)}`)
      .join(', ');
  }
  return String(v);
}

const SHOWN_ELSEWHERE = new Set(['explanation', 'why', 'sample_event_ids', 'trigger_event_id']);

/** A finding as a few indented lines. */
export function formatFinding(f: Finding): string {
  const lines = [
    `${f.at}  ${f.severity.toUpperCase()}  ${f.rule}  ${f.key ?? f.fingerprint ?? Object.values(f.group).join(' ')}`,
    `  ${f.summary}`,
    `  why: ${String(f.evidence.why ?? '')}`,
  ];
  for (const [k, v] of Object.entries(f.evidence)) {
    if (!SHOWN_ELSEWHERE.has(k) && v !== undefined) lines.push(`  ${k}: ${figure(v)}`);
  }
  lines.push(`  events: ${[...(f.evidence.sample_event_ids ?? [])].join(' ')} (trigger ${String(f.evidence.trigger_event_id)})`);
  lines.push(`  rule: ${f.evidence.explanation}`);
  if (Object.keys(f.labels).length) lines.push(`  labels: ${figure(f.labels)}`);
  lines.push(`  id: ${f.id}`);
  return `${lines.join('\n')}\n`;
}

export function printFinding(f: Finding, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${formatFinding(f)}\n`);
}

/** `file: path: message` per problem on stderr; warnings marked as such. */
export function printIssues(issues: readonly RuleIssue[], warnings: readonly RuleIssue[], toStderr = false): void {
  const out = toStderr ? process.stderr : process.stdout;
  for (const i of issues) out.write(`${i.file}: ${i.path}: ${i.message}\n`);
  for (const w of warnings) out.write(`${w.file}: ${w.path}: warning: ${w.message}\n`);
}
