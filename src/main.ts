import type { FastifyInstance } from 'fastify';
import cron, { type ScheduledTask } from 'node-cron';
import { buildApp } from './api/app.js';
import type { HealthReport } from './api/routes/health.js';
import { listen } from './api/server.js';
import type { LoadedConfig } from './config/load.js';
import { type Config, durationMs } from './config/schema.js';
import { TuskguardError, errorMessage } from './core/errors.js';
import { type Fingerprinter, createFingerprinter, loadPepper } from './core/fingerprint.js';
import type { Logger } from './core/logger.js';
import { Metrics } from './core/metrics.js';
import { CheckpointStore } from './ingest/checkpoints.js';
import { DeadLetter } from './ingest/dead-letter.js';
import { createEnricher } from './ingest/enrich/index.js';
import { RequestJoiner } from './ingest/join.js';
import { getParser } from './ingest/parsers/registry.js';
import { type EventListener, Pipeline } from './ingest/pipeline.js';
import { type BuiltSource, buildSource } from './ingest/sources/registry.js';
import { ReloadingKeys } from './detect/replay-keys.js';
import { startKeyLifecycle, type RunningLifecycle } from './keys/rotation/runtime.js';
import { oauthCallbackRoutes } from './api/routes/oauth-callback.js';
import { startLiveResponse, type LiveResponse } from './respond/live.js';
import { type ControlDb, openControlDb } from './store/control.js';
import { createStore } from './store/index.js';
import type { EventStore } from './store/types.js';

/**
 * The composition root: config → pepper → store → enricher → pipeline → sources → API.
 * Nothing else in tuskguard wires components together; `serve` calls startService and
 * `ingest` calls createIngestCore.
 */
export interface ServiceOptions {
  loaded: LoadedConfig;
  logger: Logger;
  metrics?: Metrics;
  env?: NodeJS.ProcessEnv;
  /** Consumers of stored events (the detection engine), subscribed before any source starts. */
  listeners?: readonly EventListener[];
  /** `serve`: how often the shared key inventory is re-read (default KEY_LOOKUP_RELOAD_MS; tests shorten it). */
  keyReloadMs?: number;
}

export interface Service {
  /** URL the API listens on (the real port when the config says 0). */
  url: string;
  app: FastifyInstance;
  pipeline: Pipeline;
  store: EventStore;
  sources: readonly BuiltSource[];
  /** The key inventory ingest and detection share (null without a pepper), re-read on one timer. */
  keys: ReloadingKeys | null;
  /** Graceful shutdown: stop sources, drain the joiner, flush the store, persist checkpoints. */
  close(): Promise<void>;
}

/** Pieces shared by the service and one-shot commands (`ingest`, later `replay`). */
export interface IngestCore {
  store: EventStore;
  pipeline: Pipeline;
  deadLetter: DeadLetter;
  fingerprint: Fingerprinter | null;
  /** Fingerprint → key id index; `serve` reloads it so keys imported while running are seen. */
  /** The key inventory (null without a pepper); `serve` shares it with detection and re-reads it. */
  keyLookup: ReloadingKeys | null;
}

/**
 * How often a running service re-reads the key inventory (a cheap indexed read of the control
 * DB). One read serves ingest (fingerprint → key id) and detection (status, scopes) alike.
 */
const KEY_LOOKUP_RELOAD_MS = 30_000;

/** Lines between a source and the store, on top of those waiting in the joiner. */
const IN_FLIGHT_LINES = 20_000;

/** Longest a shutdown waits for the pipeline to store what it holds. */
const SHUTDOWN_DRAIN_MS = 20_000;

/** Retention runs hourly: cheap when there is nothing to delete, and bounded lag when there is. */
const RETENTION_SCHEDULE = '7 * * * *';

/**
 * How the pipeline hands events to the store. SQLite writes one transaction per batch, one at a
 * time. Elasticsearch gets batches as large as its bulk requests (`bulk.max_docs`) and one more
 * in flight than it has bulk slots, so a slot never waits for the pipeline to cut the next
 * batch: with the pipeline's former 1,000 × 2, the store's `bulk.concurrency` could never be
 * used, and Elasticsearch saw at most two small bulks at a time.
 */
export function writeSizing(config: Config): { batchSize: number; writeConcurrency: number } {
  const es = config.store.type === 'elasticsearch' ? config.store.elasticsearch : undefined;
  if (!es) return { batchSize: 1_000, writeConcurrency: 2 };
  return { batchSize: es.bulk.max_docs, writeConcurrency: es.bulk.concurrency + 1 };
}

/** Store, enricher, joiner, dead-letter and pipeline from the config. */
export async function createIngestCore(
  opts: ServiceOptions & {
    time: 'event' | 'wall';
    retry?: { maxAttempts: number };
    /**
     * Whether any input carries Mastodon lines. Without them there is nothing to join, and
     * holding every proxy line for `join.wait` would only delay its acknowledgement.
     */
    join: boolean;
  },
): Promise<IngestCore> {
  const { loaded, logger } = opts;
  const { config, home } = loaded;
  const metrics = opts.metrics ?? new Metrics();
  const pepper = loadPepper(config.pepper_file, opts.env ?? process.env);
  if (pepper === null) {
    logger.warn(
      { hint: 'set TUSKGUARD_PEPPER or pepper_file' },
      'no fingerprint pepper: nginx-json fingerprints are kept as logged, tokens in combined/mastodon lines are only redacted, and no key ids are attached',
    );
  }
  const store = await createStore(loaded, { metrics, logger });
  try {
    const keyLookup = pepper ? ReloadingKeys.load(home, pepper) : null;
    const enricher = await createEnricher({
      ...(keyLookup ? { keyLookup } : {}),
      ...(config.enrich.geo_mmdb ? { geoMmdb: config.enrich.geo_mmdb } : {}),
      ...(config.enrich.asn_mmdb ? { asnMmdb: config.enrich.asn_mmdb } : {}),
      ...(config.enrich.endpoint_scopes ? { endpointScopesFile: config.enrich.endpoint_scopes } : {}),
    });
    const deadLetter = new DeadLetter({ home, metrics });
    const fingerprint = pepper ? createFingerprinter(pepper) : null;
    const sizing = writeSizing(config);
    const pipeline = new Pipeline({
      store,
      deadLetter,
      metrics,
      logger,
      getParser,
      joiner: opts.join ? new RequestJoiner({ waitMs: durationMs(config.join.wait), maxPending: config.join.max_pending, metrics }) : null,
      ...sizing,
      // Room for every write in flight and two batches being parsed, at least IN_FLIGHT_LINES;
      // lines waiting in the joiner are in flight too (acked once stored): room for them too.
      maxInFlightLines: Math.max(IN_FLIGHT_LINES, sizing.batchSize * (sizing.writeConcurrency + 2)) + (opts.join ? config.join.max_pending : 0),
      enrich: (e) => enricher.enrich(e),
      fingerprint,
      time: opts.time,
      ...(opts.retry ? { retry: opts.retry } : {}),
    });
    for (const listener of opts.listeners ?? []) pipeline.onEvents(listener);
    return { store, pipeline, deadLetter, fingerprint, keyLookup };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** Start the service. Throws coded errors at start-up (fail fast); run-time errors are counted. */
export async function startService(opts: ServiceOptions): Promise<Service> {
  const { loaded, logger } = opts;
  const metrics = opts.metrics ?? new Metrics({ defaultMetrics: true });
  checkSources(loaded);
  const join = loaded.config.sources.some((s) => s.format === 'mastodon');
  const env = opts.env ?? process.env;
  const core = await createIngestCore({ ...opts, metrics, time: 'wall', join });
  // One inventory for ingest and detection, so both swap to a newly imported key together.
  const sharedKeys = core.keyLookup;
  let control: ControlDb | null = null;
  let keys: RunningLifecycle | null = null;
  let live: LiveResponse | null = null;
  try {
    control = openControlDb(loaded.home);
    // Drains pending revocations, resumes rotations, schedules max_age (off without a master key).
    keys = await startKeyLifecycle({ loaded, logger, env, events: core.store, metrics });
    const consent = keys?.lifecycle.rotations.consent ?? null;
    // Stored events → detection → findings stored → responder; subscribed before any source starts.
    live = await startLiveResponse({ loaded, logger, metrics, store: core.store, pipeline: core.pipeline, control, lifecycle: keys?.lifecycle ?? null, env, ...(sharedKeys ? { keys: sharedKeys } : {}) });
    const deps = { checkpoints: new CheckpointStore(control), deadLetter: core.deadLetter, pipeline: core.pipeline, logger, metrics, env };
    const sources = loaded.config.sources.map((s) => buildSource(s, deps));
    const pushSources = sources.flatMap((s) => (s.push ? [s.push] : []));
    const routes = [async (scope: FastifyInstance) => void (await scope.register(oauthCallbackRoutes, { flow: consent })), ...live.routes];
    const app = await buildApp({ metrics, health: healthCheck(core, sources), pushSources, routes }, logger);
    const url = await listen(app, loaded.config.api.host, loaded.config.api.port);
    for (const s of sources) await s.source.start(core.pipeline);
    announce(logger, loaded, url, sources);
    const retention = scheduleRetention(core.store, logger, metrics);
    const reload = sharedKeys ? setInterval(() => reloadKeys(sharedKeys, logger, metrics), opts.keyReloadMs ?? KEY_LOOKUP_RELOAD_MS) : null;
    reload?.unref();
    const db = control;
    const lifecycle = keys;
    const response = live;
    return { url, app, pipeline: core.pipeline, store: core.store, sources, keys: sharedKeys, close: async () => {
        if (reload) clearInterval(reload);
        await lifecycle?.stop();
        return shutdown(core, sources, app, retention, db, logger, () => response.close());
      } };
  } catch (e) {
    await live?.close().catch(() => undefined);
    await keys?.stop();
    control?.close();
    await core.pipeline.stop().catch(() => undefined);
    await core.store.close();
    throw e;
  }
}

async function shutdown(
  core: IngestCore, sources: readonly BuiltSource[], app: FastifyInstance, retention: ScheduledTask, control: ControlDb, logger: Logger,
  /** After the pipeline drained, before the store closes: detection state and the responder. */
  stopResponse: () => Promise<void>,
): Promise<void> {
  logger.info({}, 'shutting down: stopping sources and draining the pipeline');
  await retention.stop();
  // Sources stop reading at once; their pending acks arrive while the pipeline drains.
  const stopping = [...sources.map((s) => s.source.stop()), app.close()];
  // With the store down the drain would wait forever: give up after a deadline. Nothing is
  // lost: file offsets only cover acknowledged lines, and push clients got no 200 so they resend.
  const drained = await Promise.race([
    core.pipeline.stop().then(
      () => true,
      (e: unknown) => (logger.error({ err: errorMessage(e) }, 'pipeline could not drain'), false),
    ),
    new Promise<false>((r) => setTimeout(() => r(false), SHUTDOWN_DRAIN_MS).unref()),
  ]);
  if (!drained) logger.warn({ deadlineMs: SHUTDOWN_DRAIN_MS }, 'stopped before every line was stored; unacknowledged file lines are read again on restart');
  await Promise.race([Promise.allSettled(stopping), new Promise((r) => setTimeout(r, 2_000).unref())]);
  await stopResponse().catch((e: unknown) => logger.error({ err: errorMessage(e) }, 'responder did not stop cleanly'));
  await core.store.close();
  control.close();
  logger.info({}, 'stopped');
}

function reloadKeys(keys: ReloadingKeys, logger: Logger, metrics: Metrics): void {
  try {
    keys.reload();
  } catch (e) {
    // Keep the previous inventory: a transient read error must not detach events from their keys.
    metrics.errors.inc({ component: 'keys', stage: 'reload' });
    logger.warn({ err: errorMessage(e) }, 'could not reload the key inventory; ingest and detection keep the previous one');
  }
}

/** Ids and http-push paths must be unique: offsets and routes are keyed by them. */
function checkSources(loaded: LoadedConfig): void {
  const seen = new Set<string>();
  for (const s of loaded.config.sources) {
    const keys = [`id ${s.id}`, ...(s.type === 'http-push' ? [`path ${s.path}`] : [])];
    for (const k of keys) {
      if (seen.has(k)) {
        throw new TuskguardError('CONFIG_INVALID', `${loaded.file ?? '(defaults)'}: two sources share the ${k}`, { hint: 'give every source its own id (and every http-push source its own path)' });
      }
      seen.add(k);
    }
  }
}

function announce(logger: Logger, loaded: LoadedConfig, url: string, sources: readonly BuiltSource[]): void {
  logger.info({ url, store: loaded.config.store.type, home: loaded.home, sources: sources.map((s) => `${s.type}:${s.source.id}`) }, 'tuskguard serving');
  if (sources.length === 0) {
    logger.warn(
      {
        config: loaded.file ?? 'none (defaults)',
        example: 'sources: [{ type: file-tail, id: nginx, format: nginx-json, paths: [/var/log/nginx/access.json] }]',
      },
      'no sources configured: nothing is ingested. Add a file-tail or http-push source under `sources:` in tuskguard.yaml (see README), then restart',
    );
  }
}

/** Run `store.applyRetention` on RETENTION_SCHEDULE; failures are counted and logged, never fatal. */
export function scheduleRetention(store: EventStore, logger: Logger, metrics: Metrics): ScheduledTask {
  return cron.schedule(
    RETENTION_SCHEDULE,
    async () => {
      try {
        const { deleted } = await store.applyRetention(new Date());
        logger.info({ deleted }, 'retention applied');
      } catch (e) {
        metrics.errors.inc({ component: 'retention', stage: 'apply' });
        logger.error({ err: errorMessage(e) }, 'retention failed; will retry at the next run');
      }
    },
    { name: 'retention', noOverlap: true },
  );
}

/** /healthz: the store answers a cheap query (cached briefly) and every source runs. */
function healthCheck(core: IngestCore, sources: readonly BuiltSource[]): () => Promise<HealthReport> {
  let cached: { at: number; reachable: boolean; error?: string } = { at: 0, reachable: true };
  return async () => {
    if (Date.now() - cached.at > 5_000) {
      try {
        await withTimeout(core.store.countEvents({ from: new Date().toISOString(), limit: 1 }), 2_000);
        cached = { at: Date.now(), reachable: true };
      } catch (e) {
        cached = { at: Date.now(), reachable: false, error: errorMessage(e) };
      }
    }
    const status = core.pipeline.status();
    const reachable = cached.reachable && status.storeHealthy;
    const error = cached.error ?? status.lastStoreError ?? undefined;
    const list = sources.map((s) => ({ id: s.source.id, type: s.type, running: s.source.running }));
    return {
      ok: reachable && list.every((s) => s.running),
      store: { kind: core.store.kind, reachable, ...(reachable || !error ? {} : { error }) },
      sources: list,
      in_flight_lines: status.inFlightLines,
    };
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
