import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { openKeysDb } from '../keys/db.js';
import { KeyInventory } from '../keys/inventory.js';
import type { KeyRecord } from '../keys/schema.js';
import type { Notice, Notifier } from '../keys/revocation/types.js';
import type { Lifecycle } from '../keys/rotation/runtime.js';
import type { EventStore } from '../store/types.js';
import { systemAlert } from './actions/alert.js';
import { ACTIONS } from './actions/registry.js';
import { approvalRoutes, type ApprovalRouteOptions } from './approvals.js';
import type { DispatchReport } from './dispatcher.js';
import { buildKeyServices } from './key-services.js';
import type { DrainReport } from './outbox-worker.js';
import { loadPolicies, type PolicyFile } from './policies.js';
import { createResponder as composeResponder, defaultPoliciesFile, PUBLIC_URL_ENV, type Responder, type ResponderOptions } from './responder.js';
import type { ActionServices, KeyInfo, KeyInfoLookup } from './types.js';

/**
 * The response hook `serve` and `replay` call: findings in, actions out.
 *
 *   const response = await createResponder({ loaded, logger, metrics, store });
 *   await response.handle(findings);          // policies → safeguards → actions (via the outbox)
 *   await response.drain(30_000);             // replay: wait for the outbox (Mastodon, Slack, SMTP)
 *   await response.close();
 *
 * It composes the responder (src/respond/responder.ts: outbox + worker, audit chain, safeguards,
 * approvals, dispatcher) over the control DB under the data dir, with the key inventory for
 * policy matching and — when TUSKGUARD_MASTER_KEY and TUSKGUARD_PEPPER are set — the key
 * services that revoke, rotate, suspend-account and block-ip act through (against the
 * instance each key in the inventory names). Audit records are mirrored to the store's
 * actions index. Policies: `policiesFile`, else $TUSKGUARD_POLICIES, ./rules/policies.yaml or
 * the shipped file. The outbox worker starts at once, so pending work of an earlier run resumes.
 */
export interface CreateResponderOptions {
  loaded: LoadedConfig;
  logger: Logger;
  metrics?: Metrics;
  /** Audit records are mirrored to its actions index; null/absent: no mirror. */
  store?: Pick<EventStore, 'writeActions'> | null;
  /** Key usage for rotation cut-overs (usually the same store). */
  events?: Pick<EventStore, 'searchEvents'> | null;
  /** Default process.env (channel secrets, master key, pepper, approval secret). */
  env?: NodeJS.ProcessEnv;
  policiesFile?: string;
  /** Already loaded policies (wins over `policiesFile`). */
  policies?: PolicyFile;
  /** `serve`'s running key lifecycle (its rotation service is reused). */
  lifecycle?: Lifecycle | null;
  /** Simulate every policy (decide and audit, change and send nothing). */
  simulate?: boolean;
  /** Outbox worker tuning (tests, benchmarks). */
  worker?: ResponderOptions['worker'];
  /** Mastodon call timeout (default 10 s). */
  mastodonTimeoutMs?: number;
  clock?: Clock;
}

export interface ResponseHook {
  /** The composed responder (outbox, audit, safeguards, dispatcher) for callers that need more. */
  readonly responder: Responder;
  /** False without a master key and a pepper: revoke, rotate, suspend-account and block-ip then fail (audited). */
  readonly keyActions: boolean;
  /** Options for `approvalRoutes`, or null when TUSKGUARD_APPROVAL_SECRET is not set. */
  readonly approvalRoutes: ApprovalRouteOptions | null;
  /** A route plugin for AppOptions.routes serving the approve/deny links, or null. */
  readonly routes: ((app: FastifyInstance) => Promise<void>) | null;
  /** Respond to one finding; never throws for an action's failure (it is audited). */
  dispatch(finding: Finding): Promise<DispatchReport>;
  /** Respond to each finding in order; a failure to decide on one is logged, counted and skipped. */
  handle(findings: readonly Finding[]): Promise<DispatchReport[]>;
  /**
   * Wait until the outbox has nothing pending or in flight (digests due later are sent now),
   * or `timeoutMs` passed. `pending` counts what is left (a `serve` later resumes it).
   */
  drain(timeoutMs: number): Promise<DrainReport>;
  /** Stop the worker (deliveries in flight finish), flush the audit mirror, close the DB. */
  close(): Promise<void>;
}

function respondKeyInfo(k: KeyRecord): KeyInfo {
  return { id: k.id, scopes: k.scopes, labels: k.labels, kind: k.kind, owner: k.owner, fingerprint: k.fingerprint };
}

/** Key metadata read from the inventory at each finding, so imports and revocations are seen at once. */
function inventoryLookup(get: (id: string) => KeyRecord | null): KeyInfoLookup {
  return { get: (id) => {
    const k = get(id);
    return k ? respondKeyInfo(k) : null;
  } };
}

export async function createResponder(o: CreateResponderOptions): Promise<ResponseHook> {
  const env = o.env ?? process.env;
  const logger = o.logger.child({ component: 'respond' });
  const policies = o.policies ?? loadPolicies(o.policiesFile ?? defaultPoliciesFile(env), ACTIONS);
  const db = openKeysDb(o.loaded.home);
  try {
    // Revocations and rotations append to the responder's chain, which exists only below.
    let responder: Responder | null = null;
    // Policy matching needs key metadata only (no secret): available without a master key too.
    const inventory = new KeyInventory(db, logger);
    const notifier = noticeAlerts(() => responder, { env, publicUrl: env[PUBLIC_URL_ENV] ?? 'http://127.0.0.1:8787' }, logger);
    const built = await buildKeyServices({
      loaded: o.loaded, db, env, logger, metrics: o.metrics, audit: (e) => responder?.audit.append(e), notifier,
      lifecycle: o.lifecycle, events: o.events, mastodonTimeoutMs: o.mastodonTimeoutMs,
    });
    const store = o.store;
    responder = composeResponder({
      home: o.loaded.home, db, policies, env, logger: o.logger,
      keyInfo: inventoryLookup((id) => inventory.get(id)),
      ...(built ? { services: { keys: built.services } } : {}),
      ...(store ? { mirror: (r) => store.writeActions(r) } : {}),
      ...(o.simulate ? { simulate: true } : {}),
      ...(o.worker ? { worker: o.worker } : {}),
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    responder.worker.start();
    return hook(responder, built !== null, () => db.close(), logger, o.metrics);
  } catch (e) {
    db.close();
    throw e;
  }
}

function hook(responder: Responder, keyActions: boolean, closeDb: () => void, logger: Logger, metrics?: Metrics): ResponseHook {
  const dispatch = (f: Finding) => responder.dispatcher.dispatch(f);
  const routesOpts = responder.approvalRoutes;
  return {
    responder,
    keyActions,
    approvalRoutes: routesOpts,
    routes: routesOpts ? async (app) => void (await app.register(approvalRoutes, routesOpts)) : null,
    dispatch,
    async handle(findings) {
      const reports: DispatchReport[] = [];
      for (const f of findings) {
        try {
          reports.push(await dispatch(f));
        } catch (e) {
          metrics?.errors.inc({ component: 'respond', stage: 'dispatch' });
          logger.error({ finding: f.id, rule: f.rule, error: errorMessage(e) }, 'the responder could not decide on a finding');
        }
      }
      return reports;
    },
    drain: (timeoutMs) => responder.worker.drain(timeoutMs, { releaseScheduled: true }),
    async close() {
      try {
        await responder.close();
      } finally {
        closeDb();
      }
    },
  };
}

/**
 * Revocation notices a person must see (revoke-pending, revoke-failed, given up) go out as
 * responder alerts through every notify channel configured from the environment; the rest
 * are logged. Keyed per key and kind, so a retried revocation does not repeat its alert.
 */
function noticeAlerts(current: () => Responder | null, services: ActionServices, logger: Logger): Notifier {
  return (n: Notice) => {
    const fields = { notice: n.kind, key_id: n.key_id, fingerprint: n.fingerprint };
    if (n.severity === 'info') return void logger.info(fields, n.message);
    logger.warn(fields, n.message);
    const r = current();
    if (!r) return;
    const view = systemAlert(`${n.kind} for ${n.key_id}`, n.message, n.severity === 'critical' ? 'critical' : 'high', {
      key: { id: n.key_id, fingerprint: n.fingerprint, owner: n.owner || null, kind: null, scopes: [] },
    });
    for (const m of ACTIONS) {
      const payload = m.impact === 'notify' ? m.systemPayload?.(view, services) : null;
      if (payload === null || payload === undefined) continue;
      r.outbox.enqueue({ key: `system:notice:${n.kind}:${n.key_id}:${String(n.details?.revocation_id ?? '')}:${m.id}`, channel: m.id, payload, target: m.id });
    }
  };
}
