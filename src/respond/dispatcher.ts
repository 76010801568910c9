import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { systemAlert, type AlertView } from './actions/alert.js';
import { ACTIONS, actionById } from './actions/registry.js';
import type { Approval, ApprovalDecision, ApprovalStore } from './approval-store.js';
import { evidenceRef, type AuditLog } from './audit.js';
import type { AlertGrouping } from './grouping.js';
import type { Outbox } from './outbox.js';
import { safeguardMs, selectPolicies, type Policy, type PolicyAction, type PolicyFile } from './policies.js';
import type { BreakerState, Safeguards } from './safeguards.js';
import type { ActionOutcome, ActionResult, ActionServices, AnyActionModule, KeyInfo, KeyInfoLookup } from './types.js';

/**
 * The dispatcher: finding → matching policies → their actions in order, each through the
 * safeguards (idempotency key, allowlist, cooldown, protected keys → approval, revocation
 * budget → circuit breaker), then run, then recorded in the audit chain (which mirrors it to
 * the store). Detection never acts; this is the only place that decides to.
 */
export interface DispatcherDeps {
  policies: PolicyFile;
  modules?: readonly AnyActionModule[];
  keyInfo: KeyInfoLookup;
  outbox: Outbox;
  audit: AuditLog;
  safeguards: Safeguards;
  grouping: AlertGrouping;
  /** Null when TUSKGUARD_APPROVAL_SECRET is not set: actions on protected keys are then blocked. */
  approvals: ApprovalStore | null;
  services: ActionServices;
  /** Simulate everything, whatever the policy file says. */
  simulate?: boolean;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

export interface DispatchReport {
  finding: string;
  /** Ids of the policies that matched, in order. */
  policies: string[];
  outcomes: ActionOutcome[];
}

interface Step {
  finding: Finding;
  key: KeyInfo | null;
  policy: Policy;
  entry: PolicyAction;
  module: AnyActionModule;
  target: string;
  dryRun: boolean;
  actor: string;
  idempotencyKey: string;
  previous: readonly ActionOutcome[];
}

type Guard = { result: ActionResult } | { approval: string } | null;

export const AUTOMATIC_ACTOR = 'tuskguard';

/** Close the breaker and record who did it and why (the CLI and the dispatcher share this). */
export function resetBreakerAudited(safeguards: Safeguards, audit: AuditLog, by: string, reason: string): BreakerState {
  const before = safeguards.resetBreaker(by, reason);
  audit.append({ actor: by, action: 'breaker.reset', reason, target: 'revocation-budget', result: 'closed', details: { was_open: before.open, opened_reason: before.reason } });
  return before;
}

export class Dispatcher {
  private readonly modules: readonly AnyActionModule[];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly groupMs: number;

  constructor(private readonly deps: DispatcherDeps) {
    this.modules = deps.modules ?? ACTIONS;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.groupMs = safeguardMs(deps.policies.safeguards).alertGroupInterval;
  }

  /** Run the response to one finding; never throws for an action's failure (it is recorded). */
  async dispatch(finding: Finding): Promise<DispatchReport> {
    this.expireApprovals();
    const key = finding.key ? this.deps.keyInfo.get(finding.key) : null;
    const policies = selectPolicies(this.deps.policies, finding, key);
    const outcomes: ActionOutcome[] = [];
    for (const policy of policies) {
      const dryRun = this.deps.simulate === true || (policy.dry_run ?? this.deps.policies.dry_run);
      for (const entry of policy.actions) {
        const outcome = await this.step(finding, key, policy, entry, dryRun, outcomes);
        if (outcome) outcomes.push(outcome);
      }
    }
    this.ensureApprovalsShown(finding, outcomes);
    return { finding: finding.id, policies: policies.map((p) => p.id), outcomes };
  }

  /** Carry out a person's decision on a held action (the approval routes call this once). */
  async decide(approval: Approval, decision: ApprovalDecision, by: string): Promise<{ status: string; message: string }> {
    const actor = `person:${by}`;
    const base = { actor, finding_id: approval.finding.id, evidence_ref: evidenceRef(approval.finding.evidence), target: approval.target };
    const details = { approval_id: approval.id, policy: approval.policy, action: approval.action, key: approval.keyId, rule: approval.finding.rule };
    this.deps.audit.append({ ...base, action: `approval.${decision}`, reason: approval.reason, result: decision === 'approve' ? 'approved' : 'denied', details });
    const claimKey = `${approval.finding.id}:${approval.action}:${approval.target}`;
    if (decision === 'deny') {
      this.deps.safeguards.settleClaim(claimKey, 'denied');
      return { status: 'denied', message: `${approval.action} on ${approval.target} was denied by ${by}; nothing was done` };
    }
    const module = actionById(approval.action, this.modules);
    const policy = this.deps.policies.policies.find((p) => p.id === approval.policy) ?? { id: approval.policy, enabled: true, match: {}, actions: [], on_match: 'stop' as const };
    if (!module) return { status: 'failed', message: `action ${approval.action} is not available in this build` };
    const key = approval.keyId ? this.deps.keyInfo.get(approval.keyId) : null;
    const step: Step = { finding: approval.finding, key, policy, entry: approval.config, module, target: approval.target, dryRun: false, actor, idempotencyKey: claimKey, previous: [] };
    const result = await this.execute(step);
    if (result.status === 'done' || result.status === 'queued') this.deps.safeguards.startCooldown(module.id, approval.target);
    this.deps.safeguards.settleClaim(claimKey, result.status);
    this.record(step, result, { approval_id: approval.id });
    return { status: result.status, message: result.message };
  }

  /** A person closes the circuit breaker; audited. */
  resetBreaker(by: string, reason: string): BreakerState {
    return resetBreakerAudited(this.deps.safeguards, this.deps.audit, by, reason);
  }

  /** Expire pending approvals past their time; each is audited. Returns how many. */
  expireApprovals(): number {
    const expired = this.deps.approvals?.expireStale() ?? [];
    for (const a of expired) {
      this.deps.audit.append({ actor: AUTOMATIC_ACTOR, action: 'approval.expired', reason: 'nobody decided before the links expired', finding_id: a.finding.id, target: a.target, result: 'expired', details: { approval_id: a.id, action: a.action, policy: a.policy } });
    }
    return expired.length;
  }

  private async step(finding: Finding, key: KeyInfo | null, policy: Policy, entry: PolicyAction, dryRun: boolean, previous: ActionOutcome[]): Promise<ActionOutcome | null> {
    const module = actionById(entry.type, this.modules)!;
    const target = module.target(finding, entry);
    const base = { policy, entry, module, finding, key, dryRun, actor: AUTOMATIC_ACTOR, previous: [...previous] };
    const idempotencyKey = `${dryRun ? 'dry:' : ''}${finding.id}:${module.id}:${target ?? '-'}`;
    const step: Step = { ...base, target: target ?? '-', idempotencyKey };
    if (!this.deps.safeguards.claim(idempotencyKey, { findingId: finding.id, action: module.id, target: step.target, policy: policy.id })) {
      this.logger.debug({ key: idempotencyKey }, 'action already handled for this finding');
      return null;
    }
    if (target === null) {
      this.deps.safeguards.settleClaim(idempotencyKey, 'skipped');
      return this.record(step, { status: 'skipped', message: `${module.id} does not apply to this finding (no target)` });
    }
    const guard = this.guard(step);
    const result = guard === null ? await this.execute(step) : 'result' in guard ? guard.result : this.hold(step, guard.approval);
    if (!dryRun && module.impact !== 'notify' && (result.status === 'done' || result.status === 'queued')) {
      this.deps.safeguards.startCooldown(module.id, target);
    }
    this.deps.safeguards.settleClaim(idempotencyKey, result.status);
    return this.record(step, result);
  }

  /** The safeguards, in order; null lets the action run. */
  private guard(s: Step): Guard {
    const sg = this.deps.safeguards;
    const allow = sg.allowlisted(s.finding, s.key, s.module.id);
    if (allow) return { result: { status: 'skipped', message: `allowlisted until ${allow.until}: ${allow.reason}` } };
    if (s.module.impact === 'notify') return null;
    const until = sg.cooldownUntil(s.module.id, s.target);
    if (until !== null) return { result: { status: 'skipped', message: `${s.module.id} on ${s.target} is cooling down until ${new Date(until).toISOString()}` } };
    const protectedBy = sg.protectedReason(s.key);
    if (protectedBy) return { approval: protectedBy };
    if (s.module.impact !== 'revoke') return null;
    return this.budget(s);
  }

  private budget(s: Step): Guard {
    const sg = this.deps.safeguards;
    if (s.dryRun) {
      const b = sg.breaker();
      const max = sg.settings.revocation_budget.max;
      const blocked = b.open || sg.budgetUsed() >= max;
      return blocked ? { result: { status: 'dry-run', message: 'would be blocked: the revocation budget is spent or the breaker is open' } } : null;
    }
    const verdict = sg.consumeRevocation(s.module.id, s.target, s.finding.id);
    if (verdict.ok) return null;
    if (verdict.tripped) this.breakerOpened(verdict.reason, s);
    return { result: { status: 'blocked', message: `${verdict.reason}; waiting for a person (tuskguard respond reset-breaker)` } };
  }

  private hold(s: Step, reason: string): ActionResult {
    if (s.dryRun) return { status: 'dry-run', message: `would wait for a person's approval: ${reason}` };
    if (!this.deps.approvals) {
      return { status: 'blocked', message: `${reason}, and approvals are unavailable (set TUSKGUARD_APPROVAL_SECRET); not done` };
    }
    const { links } = this.deps.approvals.create({ finding: s.finding, policy: s.policy.id, action: s.module.id, config: s.entry, keyId: s.key?.id ?? s.finding.key, target: s.target, reason });
    return { status: 'approval-pending', message: `held for a person's approval: ${reason}`, details: { approval_id: links.id, expires_at: links.expiresAt, links } };
  }

  private async execute(s: Step): Promise<ActionResult> {
    try {
      return await s.module.run({
        finding: s.finding, key: s.key, config: s.entry, policy: s.policy.id, target: s.target, dryRun: s.dryRun, actor: s.actor,
        idempotencyKey: s.idempotencyKey, alertGroupIntervalMs: this.groupMs, previous: s.previous,
        outbox: this.deps.outbox, audit: this.deps.audit, grouping: this.deps.grouping, services: this.deps.services,
        logger: this.logger.child({ action: s.module.id, finding: s.finding.id }), clock: this.clock,
      });
    } catch (e) {
      this.deps.metrics?.errors.inc({ component: 'respond', stage: s.module.id });
      this.logger.error({ action: s.module.id, finding: s.finding.id, error: errorMessage(e) }, 'response action failed');
      return { status: 'failed', message: `${s.module.id} failed: ${errorMessage(e)}` };
    }
  }

  /** Append the audit record for a step; returns the outcome later actions and alerts see. */
  private record(s: Step, result: ActionResult, extra: Record<string, unknown> = {}): ActionOutcome {
    const { links, ...details } = (result.details ?? {}) as { links?: ActionOutcome['approval'] } & Record<string, unknown>;
    this.deps.audit.append({
      actor: s.actor, action: s.module.id, reason: `policy ${s.policy.id}: ${s.finding.rule} (${s.finding.severity})`,
      finding_id: s.finding.id, evidence_ref: evidenceRef(s.finding.evidence), target: s.target, result: result.status,
      details: { ...details, ...extra, message: result.message, policy: s.policy.id, rule: s.finding.rule, key: s.key?.id ?? s.finding.key, fingerprint: s.finding.fingerprint, dry_run: s.dryRun },
    });
    const outcome: ActionOutcome = { policy: s.policy.id, action: s.module.id, target: s.target, status: result.status, message: result.message };
    if (links) outcome.approval = links;
    return outcome;
  }

  private breakerOpened(reason: string, s: Step): void {
    this.logger.error({ reason, finding: s.finding.id, target: s.target }, 'revocation circuit breaker opened');
    this.deps.metrics?.errors.inc({ component: 'respond', stage: 'breaker-open' });
    this.deps.audit.append({ actor: AUTOMATIC_ACTOR, action: 'breaker.open', reason, finding_id: s.finding.id, target: 'revocation-budget', result: 'open', details: { blocked_target: s.target, policy: s.policy.id } });
    const text = `${reason}. Automatic revocations are STOPPED until a person checks what happened and runs \`tuskguard respond reset-breaker\`. The last blocked action: ${s.module.id} on ${s.target} for finding ${s.finding.id}.`;
    this.broadcast(systemAlert('Revocation circuit breaker OPEN', text, 'critical'), `system:breaker:${this.clock.now()}`);
  }

  /** A held action whose links no queued alert of its policy carried gets a responder alert. */
  private ensureApprovalsShown(finding: Finding, outcomes: readonly ActionOutcome[]): void {
    outcomes.forEach((o, i) => {
      if (!o.approval) return;
      const shown = outcomes.slice(i + 1).some((later) => later.status === 'queued' && actionById(later.action, this.modules)?.impact === 'notify');
      if (shown) return;
      const text = `${o.action} on ${o.target} for ${finding.rule} (${finding.severity}) is held: ${o.message}. ${finding.summary}`;
      const { approval, ...listed } = o;
      const view = systemAlert(`Approval needed: ${o.action} on ${o.target}`, text, finding.severity, { approval, findingId: finding.id, rule: finding.rule, actions: [listed] });
      this.broadcast(view, `system:approval:${approval.id}`);
    });
  }

  /** Send a responder alert through every notify channel configured from the environment. */
  private broadcast(view: AlertView, key: string): void {
    let sent = 0;
    for (const m of this.modules) {
      const payload = m.impact === 'notify' ? m.systemPayload?.(view, this.deps.services) : null;
      if (payload === null || payload === undefined) continue;
      this.deps.outbox.enqueue({ key: `${key}:${m.id}`, channel: m.id, payload, findingId: view.findingId, target: m.id });
      sent += 1;
    }
    if (sent === 0) this.logger.error({ title: view.title }, 'no alert channel is configured for a responder alert (set TUSKGUARD_SLACK_WEBHOOK_URL or TUSKGUARD_SMTP_URL)');
  }
}
