import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import type { Finding } from '../core/finding.js';
import type { Logger } from '../core/logger.js';
import type { AlertView } from './actions/alert.js';
import type { AuditLog } from './audit.js';
import type { AlertGrouping } from './grouping.js';
import type { Outbox } from './outbox.js';
import type { OutboxChannel } from './outbox-worker.js';

/**
 * The responder's contracts: what an action is, what it is given, what it returns.
 * Adding an action is one folder under actions/ exporting an ActionModule, plus one line in
 * actions/registry.ts (a test checks that the folders and the registry agree).
 */

/** What the responder knows about a managed key; no secret ever. */
export interface KeyInfo {
  id: string;
  scopes: readonly string[];
  labels: Readonly<Record<string, string>>;
  kind: 'user' | 'app';
  owner: string;
  /** The key's fingerprint when known (alerts show it instead of anything secret). */
  fingerprint?: string | null;
}

/** Key metadata by id, injected (the inventory lives in src/keys). */
export interface KeyInfoLookup {
  /** The key's metadata, or null when tuskguard does not manage a key with that id. */
  get(keyId: string): KeyInfo | null;
}

/**
 * How much harm an action can do, which decides the safeguards it goes through:
 * - `notify`: sends a message; never needs approval, never counts against the budget.
 * - `contain`: reversible change (suspend an account, block an IP): protected keys need a
 *   person's approval; cooldowns apply.
 * - `revoke`: the key stops working (revoke, rotate): as `contain`, and each automatic one
 *   counts against the revocation budget (circuit breaker).
 */
export const ACTION_IMPACTS = ['notify', 'contain', 'revoke'] as const;
export type ActionImpact = (typeof ACTION_IMPACTS)[number];

export const ACTION_STATUSES = [
  'done',
  'queued',
  'grouped',
  'dry-run',
  'skipped',
  'approval-pending',
  'blocked',
  'failed',
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

export interface ActionResult {
  status: ActionStatus;
  /** One secret-free sentence for people (it goes to the audit chain and the alerts). */
  message: string;
  /** Secret-free figures: outbox job id, counts, HTTP status… */
  details?: Record<string, unknown>;
}

/** Signed links a person follows to approve or deny a held action. */
export interface ApprovalLinks {
  id: string;
  approveUrl: string;
  denyUrl: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** What one action did for a finding; alerts sent later in the same dispatch list these. */
export interface ActionOutcome {
  policy: string;
  action: string;
  target: string;
  status: ActionStatus;
  message: string;
  approval?: ApprovalLinks;
}

/**
 * Services actions reach at run and delivery time. Actions that need more (the Mastodon
 * client, the vault) add optional members by declaration merging from their own folder:
 * `declare module '../../types.js' { interface ActionServices { mastodon?: … } }`.
 */
export interface ActionServices {
  /** Channel secrets are read from here at delivery time, never from policies. */
  env: NodeJS.ProcessEnv;
  /** Base URL people reach tuskguard's API at (approval links). */
  publicUrl: string;
}

export interface ActionContext<C = unknown> {
  finding: Finding;
  /** Metadata of the finding's key, or null (unknown key, IP-level rule). */
  key: KeyInfo | null;
  /** The action's entry in the policy, validated by the module's `config` schema. */
  config: C;
  /** Id of the policy that chose this action. */
  policy: string;
  /** Where the action applies (from the module's `target`). */
  target: string;
  /** Simulation: decide and describe, change nothing and send nothing. */
  dryRun: boolean;
  /** Who acts: `tuskguard` for automatic actions, `person:<name>` after an approval. */
  actor: string;
  /** Idempotency key of this (finding, action, target); outbox jobs derive theirs from it. */
  idempotencyKey: string;
  /** Alerts of the same group inside this interval are folded into one digest (0 = never). */
  alertGroupIntervalMs: number;
  /** Outcomes of the actions run before this one for the same finding. */
  previous: readonly ActionOutcome[];
  outbox: Outbox;
  audit: AuditLog;
  grouping: AlertGrouping;
  services: ActionServices;
  logger: Logger;
  clock: Clock;
}

/** One response action (one folder under actions/). */
export interface ActionModule<C extends { type: string } = { type: string }> {
  /** = folder name = policy `type:`. */
  readonly id: string;
  readonly description: string;
  readonly impact: ActionImpact;
  /** Strict zod schema of the action's policy entry, with `type: z.literal(id)`. */
  readonly config: z.ZodType<C>;
  /** Where the action applies for this finding, or null when it cannot apply (no key, no IP). */
  target(finding: Finding, config: C): string | null;
  /** Carry the action out (normally: enqueue an outbox job); never throws for an expected failure. */
  run(ctx: ActionContext<C>): Promise<ActionResult>;
  /** Delivers this action's outbox jobs, when it has any. */
  channel?(services: ActionServices): OutboxChannel;
  /**
   * Notify actions configured from the environment alone can carry the responder's own alerts
   * (breaker open, an approval no policy alert showed): the outbox payload, or null when the
   * channel is not configured.
   */
  systemPayload?(view: AlertView, services: ActionServices): unknown;
}

/**
 * A module of any config type, for registries: each module's `run` only ever receives configs
 * its own schema produced, which TypeScript cannot see across a heterogeneous list.
 */
export type AnyActionModule = ActionModule<any>;

/** Type-checks a module against its own config schema. */
export function defineAction<C extends { type: string }>(module: ActionModule<C>): ActionModule<C> {
  return module;
}
