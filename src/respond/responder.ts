import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ControlDb } from '../store/control.js';
import { ACTIONS } from './actions/registry.js';
import { ApprovalStore } from './approval-store.js';
import type { ApprovalRouteOptions } from './approvals.js';
import { AuditLog, type MirrorFn } from './audit.js';
import { openRespondDb } from './db.js';
import { Dispatcher } from './dispatcher.js';
import { AlertGrouping } from './grouping.js';
import { Outbox, type OutboxJob } from './outbox.js';
import { OutboxWorker, type OutboxChannel, type Settlement, type WorkerOptions } from './outbox-worker.js';
import { safeguardMs, type PolicyFile } from './policies.js';
import { Safeguards } from './safeguards.js';
import type { ActionServices, AnyActionModule, KeyInfoLookup } from './types.js';

/**
 * The composition root of the responder: one control DB, the outbox and its worker, the audit
 * chain, the safeguards, approvals and the dispatcher, wired together. `serve` and `replay`
 * build one of these; tests build one over a temporary home.
 *
 * Secrets from the environment (never from files): TUSKGUARD_AUDIT_KEY (anchor HMAC),
 * TUSKGUARD_APPROVAL_SECRET (approval links), and the channels' own variables.
 */
export const AUDIT_KEY_ENV = 'TUSKGUARD_AUDIT_KEY';
export const APPROVAL_SECRET_ENV = 'TUSKGUARD_APPROVAL_SECRET';
export const PUBLIC_URL_ENV = 'TUSKGUARD_PUBLIC_URL';
export const POLICIES_ENV = 'TUSKGUARD_POLICIES';

export interface ResponderOptions {
  home: string;
  policies: PolicyFile;
  keyInfo: KeyInfoLookup;
  /** Default: the control DB under `home`. */
  db?: ControlDb;
  /** Mirror of audit records to the store, e.g. `(r) => store.writeActions(r)`. */
  mirror?: MirrorFn;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** NDJSON audit mirror; default `<home>/audit.log`, null for none. */
  auditFile?: string | null;
  simulate?: boolean;
  modules?: readonly AnyActionModule[];
  /** More services for the actions (e.g. `keys` for revoke/rotate/suspend/block: src/respond/index.ts). */
  services?: Partial<ActionServices>;
  worker?: Omit<WorkerOptions, 'onSettled' | 'clock' | 'logger' | 'metrics'>;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

export interface Responder {
  readonly db: ControlDb;
  readonly outbox: Outbox;
  readonly worker: OutboxWorker;
  readonly audit: AuditLog;
  readonly safeguards: Safeguards;
  readonly approvals: ApprovalStore | null;
  readonly dispatcher: Dispatcher;
  /** Options for `approvalRoutes` (src/respond/approvals.ts), or null when approvals are off. */
  readonly approvalRoutes: ApprovalRouteOptions | null;
  /** Stop the worker (waiting for deliveries in flight), flush the mirror, close the DB if owned. */
  close(): Promise<void>;
}

/** The policy file to use: $TUSKGUARD_POLICIES, else ./rules/policies.yaml, else the shipped one. */
export function defaultPoliciesFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env[POLICIES_ENV]) return resolve(env[POLICIES_ENV]);
  const local = join(cwd, 'rules', 'policies.yaml');
  if (existsSync(local)) return local;
  return fileURLToPath(new URL('../../rules/policies.yaml', import.meta.url));
}

function auditSettlement(audit: AuditLog) {
  return (job: OutboxJob, outcome: Settlement, detail: { error?: string; result?: unknown }) => {
    audit.append({
      actor: 'outbox',
      action: `${job.channel}.${outcome === 'delivered' ? 'delivered' : 'dead-lettered'}`,
      reason: outcome === 'delivered' ? `delivered after ${job.attempts} attempt(s)` : `gave up after ${job.attempts} attempt(s): ${detail.error ?? 'unknown error'}`,
      finding_id: job.findingId,
      target: job.target,
      result: outcome === 'delivered' ? 'done' : 'failed',
      // The delivery's secret-free result (a revocation's 401 verification, an IP block id to undo) is kept too.
      details: { job: job.id, key: job.key, attempts: job.attempts, ...(detail.result === undefined || detail.result === null ? {} : { result: detail.result }) },
    });
  };
}

export function createResponder(o: ResponderOptions): Responder {
  const env = o.env ?? process.env;
  const clock = o.clock ?? systemClock;
  const logger = (o.logger ?? silentLogger).child({ component: 'respond' });
  const db = o.db ?? openRespondDb(o.home);
  const modules = o.modules ?? ACTIONS;
  const services: ActionServices = { env, publicUrl: env[PUBLIC_URL_ENV] ?? 'http://127.0.0.1:8787', ...o.services };
  const audit = new AuditLog(db, {
    file: o.auditFile === undefined ? join(o.home, 'audit.log') : o.auditFile,
    anchorKey: env[AUDIT_KEY_ENV] ?? null,
    mirror: o.mirror,
    clock,
    logger,
    metrics: o.metrics,
  });
  const outbox = new Outbox(db, { clock });
  const safeguards = new Safeguards(db, o.policies.safeguards, { clock });
  const secret = env[APPROVAL_SECRET_ENV];
  const ttlMs = safeguardMs(o.policies.safeguards).approvalTtl;
  const approvals = secret ? new ApprovalStore(db, { secret, publicUrl: services.publicUrl, ttlMs, clock }) : null;
  if (!approvals) logger.warn({ env: APPROVAL_SECRET_ENV }, 'approvals disabled: actions on protected keys will be blocked');
  const dispatcher = new Dispatcher({
    policies: o.policies, modules, keyInfo: o.keyInfo, outbox, audit, safeguards, approvals, services,
    grouping: new AlertGrouping(db, { clock }), simulate: o.simulate, clock, logger, metrics: o.metrics,
  });
  const channels: Record<string, OutboxChannel> = {};
  for (const m of modules) if (m.channel) channels[m.id] = m.channel(services);
  const worker = new OutboxWorker(outbox, channels, { ...o.worker, clock, logger, metrics: o.metrics, onSettled: auditSettlement(audit) });
  return {
    db, outbox, worker, audit, safeguards, approvals, dispatcher,
    approvalRoutes: approvals ? { approvals, onDecision: (a, d, by) => dispatcher.decide(a, d, by) } : null,
    async close() {
      await worker.stop();
      await audit.flushMirror();
      if (!o.db) db.close();
    },
  };
}
