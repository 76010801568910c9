import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from '../config/load.js';
import type { Event } from '../core/event.js';
import { errorMessage } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { loadPepper } from '../core/fingerprint.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { DetectionEngine } from '../detect/engine.js';
import type { KeyLookup } from '../detect/keys.js';
import { loadRulesOrThrow } from '../detect/load.js';
import { attachEngine } from '../detect/replay.js';
import { loadReplayKeys } from '../detect/replay-keys.js';
import type { Pipeline } from '../ingest/pipeline.js';
import type { Lifecycle } from '../keys/rotation/runtime.js';
import type { ControlDb } from '../store/control.js';
import type { EventStore } from '../store/types.js';
import { createResponder, type ResponseHook } from './index.js';

/**
 * Detection and response inside `serve`: every event the pipeline releases (enriched; the
 * store write runs beside it) goes through the detection engine (state in the control DB,
 * namespace `live`), findings are written to the store and handed to the responder. Rules:
 * ./rules/detections when present, else the shipped pack; a bad rule fails the start. The
 * engine's view of the key inventory (status, scopes) is the one `serve` shares with ingest and
 * re-reads on one timer (src/main.ts), so a key revoked by the responder is known as revoked,
 * and a key imported while running is known, from the next reload on.
 *
 * The pipeline would hold a batch's acknowledgement (file offsets, push answers) until its
 * listeners finish. Here the listener only queues the events (the relay below) and returns, so
 * ingestion never waits for detection, the findings' store writes or the responder; only when
 * more than MAX_QUEUED_EVENTS wait does it slow down (backpressure). The price: after a crash,
 * events still queued are not detected on when their lines are not re-read — the same kind of
 * loss the engine's periodic state snapshot already accepts. Lines themselves are never lost.
 */
export const LIVE_NAMESPACE = 'live';
const MAX_QUEUED_EVENTS = 50_000;

type Handler = (events: readonly Event[]) => void | Promise<void>;

/** Stored events → the engine, in order, off the pipeline's acknowledgement path (exported for tests). */
export class EventRelay {
  private handler: Handler | null = null;
  private readonly queue: Array<readonly Event[]> = [];
  private queued = 0;
  private pumping: Promise<void> | null = null;
  private readonly roomWaiters: Array<() => void> = [];

  constructor(private readonly max: number, private readonly onError: (e: unknown) => void) {}

  /** attachEngine subscribes here as it would on the pipeline. */
  onEvents(handler: Handler): () => void {
    this.handler = handler;
    return () => void (this.handler = null);
  }

  /** The pipeline's listener: returns at once unless the queue is over its bound. */
  push(events: readonly Event[]): Promise<void> | void {
    this.queue.push(events);
    this.queued += events.length;
    this.pumping ??= this.pump();
    if (this.queued > this.max) return new Promise((r) => this.roomWaiters.push(r));
  }

  /** Resolves once every queued event went through the engine. */
  async drained(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    await Promise.resolve();
    try {
      for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) {
        try {
          await this.handler?.(batch);
        } catch (e) {
          this.onError(e);
        }
        this.queued -= batch.length;
        while (this.queued <= this.max && this.roomWaiters.length) this.roomWaiters.shift()!();
        // A backlog must not run as one long chain of microtasks: the outbox worker, the API and
        // Mastodon's answers wait for the event loop's other phases.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.pumping = null;
    }
  }
}

export interface LiveOptions {
  loaded: LoadedConfig;
  logger: Logger;
  metrics: Metrics;
  /** Findings are written here; audit records mirrored to its actions index; rotation cut-overs read its events. */
  store: Pick<EventStore, 'writeFindings' | 'writeActions' | 'searchEvents'>;
  pipeline: Pick<Pipeline, 'onEvents'>;
  /** The service's control DB (detection state). */
  control: ControlDb;
  /** The running key lifecycle, reused for rotations; null without a master key. */
  lifecycle: Lifecycle | null;
  env: NodeJS.ProcessEnv;
  /**
   * The key inventory detection reads; the caller owns its reloading (`serve` shares one with
   * ingest). Default: the inventory of `home`, read once at start.
   */
  keys?: KeyLookup;
}

export interface LiveResponse {
  response: ResponseHook;
  engine: DetectionEngine;
  /** Route plugins for AppOptions.routes (the approve/deny links), possibly none. */
  routes: Array<(app: FastifyInstance) => Promise<void>>;
  /** Save detection state, stop the responder (deliveries in flight finish). */
  close(): Promise<void>;
}

/** ./rules/detections when present, else the pack shipped with tuskguard. */
export function defaultRulesDir(cwd = process.cwd()): string {
  const local = join(cwd, 'rules', 'detections');
  return existsSync(local) ? local : fileURLToPath(new URL('../../rules/detections', import.meta.url));
}

export async function startLiveResponse(o: LiveOptions): Promise<LiveResponse> {
  const rules = loadRulesOrThrow(defaultRulesDir());
  const keys = o.keys ?? loadReplayKeys(o.loaded.home, loadPepper(o.loaded.config.pepper_file, o.env)).lookup;
  const engine = new DetectionEngine({ rules, db: o.control, namespace: LIVE_NAMESPACE, keys, logger: o.logger, metrics: o.metrics });
  const response = await createResponder({ loaded: o.loaded, logger: o.logger, metrics: o.metrics, store: o.store, events: o.store, lifecycle: o.lifecycle, env: o.env });
  const relay = new EventRelay(MAX_QUEUED_EVENTS, (e) => {
    o.metrics.errors.inc({ component: 'detect', stage: 'live' });
    o.logger.error({ err: errorMessage(e) }, 'detection failed on a batch of events');
  });
  o.pipeline.onEvents((events) => relay.push(events));
  attachEngine(relay, engine, sink(o, response));
  o.logger.info({ rules: rules.length, approvals: response.approvalRoutes !== null, key_actions: response.keyActions }, 'detection and response running');
  return {
    response,
    engine,
    routes: response.routes ? [response.routes] : [],
    async close() {
      await relay.drained();
      engine.close();
      await response.close();
    },
  };
}

/** Store, then respond. Never throws: attachEngine would stop detecting for good. */
function sink(o: LiveOptions, response: ResponseHook): (found: readonly Finding[]) => Promise<void> {
  return async (found) => {
    try {
      const r = await o.store.writeFindings(found);
      for (const f of r.failed) o.logger.error({ finding: f.id, reason: f.reason }, 'the store refused a finding');
    } catch (e) {
      // The responder still acts: a finding the store missed is in the audit chain (finding_id, evidence_ref).
      o.metrics.errors.inc({ component: 'detect', stage: 'store-findings' });
      o.logger.error({ findings: found.length, err: errorMessage(e) }, 'findings could not be stored');
    }
    await response.handle(found);
  };
}
