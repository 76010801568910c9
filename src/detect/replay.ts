import type { Event } from '../core/event.js';
import type { Finding, Severity } from '../core/finding.js';
import type { Fingerprinter } from '../core/fingerprint.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { DeadLetter, DeadLetterInput } from '../ingest/dead-letter.js';
import { RequestJoiner } from '../ingest/join.js';
import { getParser } from '../ingest/parsers/registry.js';
import { Pipeline } from '../ingest/pipeline.js';
import { type Progress, type ReplayFile, replayFiles } from '../ingest/sources/replay/index.js';
import type { PipelineInput } from '../ingest/types.js';
import type { ControlDb } from '../store/control.js';
import { DetectionEngine } from './engine.js';
import type { KeyLookup } from './keys.js';
import type { Rule } from './types.js';

/**
 * Detection over log files on event time (`tuskguard replay`, the quality benchmark, tests):
 * the replay source merges the files by event time into the ingest pipeline (parse, join,
 * enrich), and every event the pipeline releases goes through the detection engine in order.
 * Events are not stored (that is `tuskguard ingest`); findings go to `onFindings`.
 *
 * Restart safety comes from the engine: with a state database, a replay that is stopped
 * (signal) saves its state, and the next replay of the same files skips what was processed
 * and never repeats a finding (ids of emitted findings are kept).
 */
export const REPLAY_NAMESPACE = 'replay';

/** Receives each batch's findings, in event order; a rejection stops the replay. */
export type FindingSink = (findings: readonly Finding[]) => Promise<void> | void;

export interface ReplayRunOptions {
  files: readonly ReplayFile[];
  rules: readonly Rule[];
  /** Managed keys: status, scopes and ids for the rules. */
  keys?: KeyLookup | undefined;
  /** Enrichment (key id, route and scopes, network, user agent, geo); identity when absent. */
  enrich?: ((event: Event) => Event) | undefined;
  /** Joining proxy and Mastodon lines (only when a file is in the mastodon format); config `join`. */
  join?: { waitMs: number; maxPending: number } | undefined;
  /** Fingerprints tokens found in combined/mastodon lines. */
  fingerprint?: Fingerprinter | null;
  /** Engine state (baselines, learned terms, emitted ids); memory only when absent. */
  state?: ControlDb | undefined;
  /** State namespace (default `replay`), so a replay never disturbs the live engine's state. */
  namespace?: string;
  onFindings: FindingSink;
  /** Where rejected lines go; they are counted by reason either way. */
  deadLetter?: Pick<DeadLetter, 'write'> | undefined;
  /** Stops the replay: lines already read are still detected on, then state is saved. */
  signal?: AbortSignal | undefined;
  progress?: Progress;
  logger?: Logger;
  metrics?: Metrics;
}

export interface ReplayRunSummary {
  files: number;
  lines: number;
  /** Events that reached the engine. */
  events: number;
  /** Lines that did not parse, by reason (never echoed: a line may hold a token). */
  rejected: Record<string, number>;
  findings: number;
  by_severity: Partial<Record<Severity, number>>;
  /** Events at or before the position restored from the state database (processed by an earlier run). */
  already_processed: number;
  /** Events behind the watermark for another reason (out of order beyond the lateness bound). */
  late: number;
  /** True when the signal stopped the replay before the end of the input. */
  stopped: boolean;
  seconds: number;
}

/**
 * Rejected lines are counted by reason and handed on to `next` (the real dead-letter) when
 * given: a dry run leaves the files where they are and needs no copy of their bad lines.
 */
class RejectTally {
  readonly byReason: Record<string, number> = {};
  constructor(private readonly next?: Pick<DeadLetter, 'write'>) {}

  async write(inputs: readonly DeadLetterInput[]): Promise<void> {
    await this.next?.write(inputs);
    for (const i of inputs) this.byReason[i.reason] = (this.byReason[i.reason] ?? 0) + 1;
  }
}

/** Signals the end of input to the replay source once the run is asked to stop. */
class Stopped extends Error {}

/** The pipeline as the replay source sees it: refuses batches once stopped, counts lines. */
function stoppable(input: PipelineInput, signal: AbortSignal, counted: { lines: number }): PipelineInput {
  return {
    push: async (batch) => {
      if (signal.aborted) throw new Stopped('replay stopped');
      await input.push(batch);
      counted.lines += batch.lines.length;
    },
    tryPush: (batch) => !signal.aborted && input.tryPush(batch),
    retryAfterSeconds: () => input.retryAfterSeconds(),
  };
}

/** What went through an attached engine. */
export interface DetectionTap {
  events: number;
  findings: number;
  bySeverity: Partial<Record<Severity, number>>;
  /** The first error of the sink; later batches are not detected on. */
  error: unknown;
}

/**
 * Feed every event the pipeline releases (after its store write) through `engine`, in order,
 * and each batch's findings to `sink`. The same wiring serves a replay and a live tail. When
 * the sink fails, detection stops and `onError` tells the caller to stop its source.
 */
export function attachEngine(
  pipeline: Pick<Pipeline, 'onEvents'>,
  engine: DetectionEngine,
  sink: FindingSink,
  hooks: { onError?: (e: unknown) => void; onEvent?: (e: Event) => void } = {},
): DetectionTap {
  const tap: DetectionTap = { events: 0, findings: 0, bySeverity: {}, error: null };
  pipeline.onEvents(async (events) => {
    if (tap.error) return;
    const found: Finding[] = [];
    for (const e of events) {
      tap.events++;
      hooks.onEvent?.(e);
      for (const f of engine.process(e)) found.push(f);
    }
    if (found.length === 0) return;
    tap.findings += found.length;
    for (const f of found) tap.bySeverity[f.severity] = (tap.bySeverity[f.severity] ?? 0) + 1;
    try {
      await sink(found);
    } catch (e) {
      tap.error = e;
      hooks.onError?.(e);
    }
  });
  return tap;
}

/** Lines a replay keeps between the source and the engine, besides those waiting in the joiner. */
const IN_FLIGHT_LINES = 20_000;

function replayPipeline(o: ReplayRunOptions, metrics: Metrics, logger: Logger, tally: RejectTally): Pipeline {
  const mastodon = o.files.some((f) => f.format === 'mastodon');
  const maxPending = o.join?.maxPending ?? 50_000;
  return new Pipeline({
    store: DISCARD_EVENTS,
    // The pipeline only calls write(); the tally forwards to the real dead-letter when given.
    deadLetter: tally as unknown as DeadLetter,
    metrics,
    logger,
    getParser,
    joiner: mastodon ? new RequestJoiner({ waitMs: o.join?.waitMs ?? 5_000, maxPending, metrics }) : null,
    // Lines waiting in the joiner are in flight too: on event time only new lines release them,
    // so without room for them the source would wait for itself.
    maxInFlightLines: IN_FLIGHT_LINES + (mastodon ? maxPending : 0),
    enrich: o.enrich ?? null,
    fingerprint: o.fingerprint ?? null,
    time: 'event',
    // One write at a time, so events reach the engine in the order they were released.
    writeConcurrency: 1,
    retry: { maxAttempts: 1 },
  });
}

/** Run the files through parse → enrich → detect; resolves with what happened. */
export async function runReplay(o: ReplayRunOptions): Promise<ReplayRunSummary> {
  const started = Date.now();
  const metrics = o.metrics ?? new Metrics();
  const logger = o.logger ?? silentLogger;
  const engine = new DetectionEngine({ rules: o.rules, db: o.state, namespace: o.namespace ?? REPLAY_NAMESPACE, keys: o.keys, logger, metrics });
  const restored = engine.watermark;
  const tally = new RejectTally(o.deadLetter);
  const pipeline = replayPipeline(o, metrics, logger, tally);
  const abort = new AbortController();
  const stop = () => abort.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();
  let already = 0;
  const tap = attachEngine(pipeline, engine, o.onFindings, { onError: stop, onEvent: (e) => void (Date.parse(e['@timestamp']) < restored && already++) });
  const pushed = { lines: 0 };
  try {
    const source = { files: o.files, getParser, sourceId: 'replay', ...(o.progress ? { progress: o.progress } : {}) };
    await replayFiles(source, stoppable(pipeline, abort.signal, pushed));
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
    logger.info({}, 'replay stopped: finishing the lines already read');
  } finally {
    o.signal?.removeEventListener('abort', stop);
    await pipeline.stop();
    engine.close();
  }
  if (tap.error) throw tap.error;
  const late = (await metrics.value('tuskguard_detect_late_events_total')) - already;
  return {
    files: o.files.length,
    lines: pushed.lines,
    events: tap.events,
    rejected: tally.byReason,
    findings: tap.findings,
    by_severity: tap.bySeverity,
    already_processed: already,
    late: Math.max(0, late),
    stopped: abort.signal.aborted && !tap.error,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/**
 * Replay does not store events (`tuskguard ingest` does): the pipeline's store step accepts
 * them at once. `kind` only labels the pipeline's write-latency metric.
 */
const DISCARD_EVENTS = {
  kind: 'sqlite' as const,
  writeEvents: async (events: readonly Event[]) => ({ written: events.length, failed: [] }),
};

