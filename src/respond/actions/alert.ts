import { durationMs } from '../../config/schema.js';
import type { Severity } from '../../core/finding.js';
import { redactSecrets } from '../../core/redact.js';
import type { ActionContext, ActionOutcome, ActionResult, ApprovalLinks } from '../types.js';

/**
 * The channel-neutral content of one alert, shared by notify-slack, notify-email and webhook:
 * each renders it in its own form. Built only from secret-free inputs (the finding's evidence,
 * the key's metadata and fingerprint) and scrubbed once more, as a second line of defence.
 */
export interface AlertView {
  kind: 'finding' | 'system';
  title: string;
  severity: Severity;
  summary: string;
  rule: string | null;
  policy: string | null;
  findingId: string | null;
  /** Event time of the finding (or of the system event), ISO 8601. */
  at: string;
  key: { id: string; fingerprint: string | null; owner: string | null; kind: string | null; scopes: readonly string[] } | null;
  explanation: string;
  /** Evidence figures as [label, value] pairs. */
  figures: Array<[string, string]>;
  /** A few sample values or event ids. */
  samples: string[];
  /** What the responder did before this alert, in order. */
  actions: ActionOutcome[];
  /** Links a person uses to approve or deny a held action. */
  approval: ApprovalLinks | null;
  /** Findings this alert stands for (a digest covers more than one). */
  count: number;
  /** For a digest: the window start it counts from, ISO 8601. */
  since: string | null;
}

const MAX_SAMPLES = 10;
const MAX_TEXT = 300;

function clip(text: string, max = MAX_TEXT): string {
  const clean = redactSecrets(text);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function figuresOf(evidence: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(evidence)) {
    if (name === 'explanation' || name === 'values' || name === 'sample_event_ids') continue;
    if (typeof value === 'number' || typeof value === 'boolean') out.push([name, String(value)]);
    else if (typeof value === 'string') out.push([name, clip(value, 120)]);
    else if (name === 'baseline' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out.push([`baseline ${k}`, String(v)]);
    }
  }
  return out.slice(0, 12);
}

/** The alert for the finding in `ctx`, standing for `count` findings. */
export function findingAlert(ctx: ActionContext, count = 1, since: number | null = null): AlertView {
  const f = ctx.finding;
  const approval = ctx.previous.find((o) => o.approval)?.approval ?? null;
  const samples = [...(f.evidence.values ?? []), ...(f.evidence.sample_event_ids ?? [])].slice(0, MAX_SAMPLES).map((s) => clip(String(s), 120));
  const keyId = f.key ?? ctx.key?.id ?? null;
  return {
    kind: 'finding',
    title:
      since === null
        ? `${f.rule}${keyId ? ` on ${keyId}` : ''}`
        : `${count} more finding${count === 1 ? '' : 's'} of ${f.rule}${keyId ? ` on ${keyId}` : ''} since ${new Date(since).toISOString()}`,
    severity: f.severity,
    summary: clip(f.summary),
    rule: f.rule,
    policy: ctx.policy,
    findingId: f.id,
    at: f.at,
    key: keyId
      ? { id: keyId, fingerprint: f.fingerprint ?? ctx.key?.fingerprint ?? null, owner: ctx.key?.owner ?? null, kind: ctx.key?.kind ?? null, scopes: ctx.key?.scopes ?? [] }
      : null,
    explanation: clip(f.evidence.explanation ?? ''),
    figures: figuresOf(f.evidence),
    samples,
    // Links travel once, in `approval`; the list of outcomes never carries them.
    actions: ctx.previous.map(({ approval: _links, ...o }) => ({ ...o, message: clip(o.message) })),
    approval,
    count,
    since: since === null ? null : new Date(since).toISOString(),
  };
}

/** A responder-level alert (breaker open, approval needing a channel), not tied to one finding's policy. */
export function systemAlert(title: string, text: string, severity: Severity, extra: Partial<AlertView> = {}): AlertView {
  return {
    kind: 'system',
    title: clip(title, 150),
    severity,
    summary: clip(text, 1000),
    rule: null,
    policy: null,
    findingId: null,
    at: new Date().toISOString(),
    key: null,
    explanation: '',
    figures: [],
    samples: [],
    actions: [],
    approval: null,
    count: 1,
    since: null,
    ...extra,
  };
}

/** The group an alert folds into: rule + key (or fingerprint, or IP, or the group values). */
export function alertGroup(ctx: ActionContext): string {
  const f = ctx.finding;
  const who = f.key ?? f.fingerprint ?? f.group['source.ip'] ?? JSON.stringify(f.group);
  return `${f.rule}|${who}`;
}

/**
 * Render and enqueue an alert through the outbox, with grouping: the first of a group goes
 * out now; later ones inside the interval update one digest due at the window's end. Alerts
 * carrying approval links are never folded (a person must see every one).
 */
export function enqueueAlert(
  ctx: ActionContext<{ group_interval?: string | undefined }>,
  channel: string,
  render: (view: AlertView) => unknown,
  /** Grouping scope when one channel serves several receivers (webhook: its target). */
  groupAs: string = channel,
): ActionResult {
  if (ctx.dryRun) return { status: 'dry-run', message: `would alert via ${channel}` };
  const interval = ctx.config.group_interval ? durationMs(ctx.config.group_interval) : ctx.alertGroupIntervalMs;
  const hasApproval = ctx.previous.some((o) => o.approval);
  const group = alertGroup(ctx);
  const admission = hasApproval ? ({ mode: 'now', windowStart: ctx.clock.now() } as const) : ctx.grouping.admit(groupAs, group, interval);
  const base = { channel, findingId: ctx.finding.id, target: ctx.target };
  if (admission.mode === 'now') {
    const { job, created } = ctx.outbox.enqueue({ ...base, key: ctx.idempotencyKey, payload: render(findingAlert(ctx)) });
    return { status: 'queued', message: `alert queued for ${channel}`, details: { job: job.id, new: created } };
  }
  const { job } = ctx.outbox.enqueue({
    ...base,
    key: `digest:${groupAs}:${group}:${admission.windowStart}`,
    payload: render(findingAlert(ctx, admission.suppressed, admission.windowStart)),
    availableAt: admission.dueAt,
    replacePending: true,
  });
  return {
    status: 'grouped',
    message: `folded into the ${channel} digest due ${new Date(admission.dueAt).toISOString()} (${admission.suppressed} so far)`,
    details: { job: job.id, count: admission.suppressed },
  };
}
