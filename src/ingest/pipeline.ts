import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Format } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { TuskguardError, errorMessage } from '../core/errors.js';
import type { Event, ParseError } from '../core/event.js';
import type { Fingerprinter } from '../core/fingerprint.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { EventStore, WriteResult } from '../store/types.js';
import type { DeadLetter, DeadLetterInput } from './dead-letter.js';
import { DuplicateTracker } from './parsers/id.js';
import { type Entry, LineIndex, type Tracker, checkLine } from './pipeline-tracking.js';
import type { ParseContext, ParserEntry, PipelineInput, SourceBatch, SourceLine } from './types.js';

/**
 * The ingest pipeline: SourceBatch → decode check → parse → join → enrich → batch → store.
 *
 * Guarantees:
 * - Nothing is dropped: a line either becomes (part of) a stored event or a dead letter with
 *   its reason. While the store is unreachable, writes are retried with backoff and the lines
 *   stay in memory; the cap on in-flight lines then blocks `push()` (backpressure to sources).
 * - A batch's `ack` runs only once every line of it is stored or dead-lettered, and acks run
 *   strictly in push order, so a checkpoint committed on ack never skips a line.
 * - Memory is bounded by `maxInFlightLines` (plus one batch) and the joiner's `maxPending`.
 */

/** The request joiner as the pipeline uses it (src/ingest/join.ts). */
export interface Joiner {
  push(event: Event, nowMs: number): Event[];
  advance(nowMs: number): Event[];
  drain(): Event[];
  readonly pending: number;
}

/** Receives events once the store has acknowledged them (the detection engine). */
export type EventListener = (events: readonly Event[]) => void | Promise<void>;

export interface PipelineOptions {
  store: Pick<EventStore, 'writeEvents' | 'kind'>;
  deadLetter: DeadLetter;
  metrics: Metrics;
  logger: Logger;
  getParser: (format: Format) => ParserEntry;
  /** Absent: every event is written as parsed. */
  joiner?: Joiner | null;
  enrich?: ((event: Event) => Event) | null;
  fingerprint?: Fingerprinter | null;
  /** `event`: the joiner's clock is the events' own time (replay); `wall`: the clock (live). */
  time: 'event' | 'wall';
  clock?: Clock;
  /** Lines accepted but not yet acknowledged; `push` waits past this. Default 20,000. */
  maxInFlightLines?: number;
  /** Events per store write. Default 1,000. */
  batchSize?: number;
  /** Longest an event waits for its batch to fill. Default 200 ms. */
  flushIntervalMs?: number;
  /** Store writes in flight at once. Default 2. */
  writeConcurrency?: number;
  /** Backoff between failed store writes. Default 100 ms doubling to 30 s, forever. */
  retry?: { initialMs?: number; maxMs?: number; maxAttempts?: number };
  /** Default for batches that do not set `maxLineBytes`. Default 65,536. */
  maxLineBytes?: number;
  /** In `wall` mode, how often the joiner releases lines whose wait is over. Default 250 ms. */
  advanceIntervalMs?: number;
}

export interface PipelineStatus {
  /** False while store writes are failing and being retried. */
  storeHealthy: boolean;
  inFlightLines: number;
  lastStoreError: string | null;
}

interface Pending {
  event: Event;
  entries: Entry[];
  /** Settles once the listeners have seen this event; the source's ack waits for it. */
  emitted?: Promise<void>;
}

// Referenced: a retry wait only happens while lines are held, and those must keep the process
// alive (an unreferenced wait let a CLI backfill exit silently while the store was down).
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Pipeline implements PipelineInput {
  private readonly o: Required<Omit<PipelineOptions, 'joiner' | 'enrich' | 'fingerprint' | 'retry'>> &
    Pick<PipelineOptions, 'joiner' | 'enrich' | 'fingerprint'>;
  private readonly retry: { initialMs: number; maxMs: number; maxAttempts: number };
  private readonly queue: Tracker[] = [];
  private readonly trackers: Tracker[] = [];
  private readonly toWrite: Pending[] = [];
  private readonly listeners: EventListener[] = [];
  /** Emission chain: keeps listener calls in release order, one batch at a time. */
  private emitting: Promise<void> = Promise.resolve();
  private readonly index = new LineIndex();
  private readonly dupes = new Map<string, DuplicateTracker>();
  private readonly waiters = new Set<() => void>();
  private inFlight = 0;
  private writes = 0;
  private working = false;
  private acking = false;
  private eventNow = 0;
  private backoffMs = 0;
  private fatal: Error | null = null;
  private stopped = false;
  private lastStoreError: string | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Also in `timers`; referenced while lines are held (see holdProcess). */
  private readonly flushTimer: NodeJS.Timeout;

  constructor(options: PipelineOptions) {
    this.o = {
      clock: systemClock,
      maxInFlightLines: 20_000,
      batchSize: 1_000,
      flushIntervalMs: 200,
      writeConcurrency: 2,
      maxLineBytes: 65_536,
      advanceIntervalMs: 250,
      ...options,
    };
    this.retry = { initialMs: 100, maxMs: 30_000, maxAttempts: Infinity, ...options.retry };
    this.flushTimer = setInterval(() => this.flush(true), this.o.flushIntervalMs).unref();
    this.timers.push(this.flushTimer);
    if (this.o.time === 'wall' && this.o.joiner) {
      this.timers.push(setInterval(() => this.advance(), this.o.advanceIntervalMs).unref());
    }
  }

  /**
   * Register a downstream consumer (detection) of enriched events. Listeners get events as they
   * leave the joiner, in order, while the store write runs beside them (ARCHITECTURE: enrich
   * feeds store and detect in parallel), so detection latency does not include the store's.
   * A batch is acknowledged to its source only after both the store and the listeners are done,
   * so a crash re-reads (never skips) lines detection had not finished. Events the store then
   * refuses for good were already seen by detection; they are dead-lettered as usual.
   * Returns an unsubscribe function.
   */
  onEvents(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async push(batch: SourceBatch): Promise<void> {
    while (!this.hasRoom(batch.lines.length)) {
      this.throwIfClosed();
      await this.changed();
    }
    this.accept(batch);
  }

  tryPush(batch: SourceBatch): boolean {
    if (!this.hasRoom(batch.lines.length) || this.stopped || this.fatal) return false;
    this.accept(batch);
    return true;
  }

  retryAfterSeconds(): number {
    return Math.min(30, Math.max(1, Math.ceil(this.backoffMs / 1000)));
  }

  status(): PipelineStatus {
    return { storeHealthy: this.lastStoreError === null, inFlightLines: this.inFlight, lastStoreError: this.lastStoreError };
  }

  /**
   * Release everything: process queued batches, drain the joiner, write, and wait for every
   * ack. Rejects with STORE_UNAVAILABLE if writes gave up (`retry.maxAttempts`).
   */
  async drain(): Promise<void> {
    await this.until(() => !this.working && this.queue.length === 0);
    this.release(this.o.joiner?.drain() ?? []);
    this.flush(true);
    await this.until(() => this.trackers.length === 0 && this.writes === 0 && this.toWrite.length === 0);
  }

  /** Drain, then refuse further input and stop the timers. */
  async stop(): Promise<void> {
    try {
      await this.drain();
    } finally {
      this.stopped = true;
      for (const t of this.timers) clearInterval(t);
      this.notify();
    }
  }

  /**
   * The flush timer keeps the process alive exactly while lines are held: otherwise a source
   * waiting for room, with only this timer left to make room, would see Node exit under it.
   */
  private holdProcess(hold: boolean): void {
    if (this.stopped) return;
    if (hold) this.flushTimer.ref();
    else this.flushTimer.unref();
  }

  private hasRoom(lines: number): boolean {
    return this.inFlight === 0 || this.inFlight + lines <= this.o.maxInFlightLines;
  }

  private throwIfClosed(): void {
    if (this.fatal) throw this.fatal;
    if (this.stopped) throw new TuskguardError('PIPELINE_SATURATED', 'the pipeline is stopped');
  }

  private accept(batch: SourceBatch): void {
    this.throwIfClosed();
    const tracker: Tracker = { batch, remaining: batch.lines.length };
    this.inFlight += batch.lines.length;
    this.o.metrics.inFlight.set(this.inFlight);
    this.holdProcess(true);
    this.trackers.push(tracker);
    this.queue.push(tracker);
    void this.work();
  }

  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      for (let t = this.queue.shift(); t; t = this.queue.shift()) {
        await this.process(t);
        // A turn of the event loop between batches: parsing back to back (microtasks only)
        // starved the sockets, and request bodies reached the store in stalls.
        if (this.queue.length > 0) await yieldToIo();
      }
    } catch {
      // Only exhausted dead-letter retries get here; `fatal` holds the error for drain().
    } finally {
      this.working = false;
      this.notify();
      void this.settle();
    }
  }

  /** Decode check and parse every line of a batch; dead-letter what cannot be parsed. */
  private async process(tracker: Tracker): Promise<void> {
    const { batch } = tracker;
    const parser = this.o.getParser(batch.format);
    const max = batch.maxLineBytes ?? this.o.maxLineBytes;
    const ingested = new Date(this.o.clock.now()).toISOString();
    const dead: DeadLetterInput[] = [];
    const parsed: Entry[] = [];
    const events: Event[] = [];
    const parse = this.lineParser(parser, batch);
    for (const line of batch.lines) {
      const rejected = checkLine(line, max);
      const result = rejected ?? parse(line);
      if ('kind' in result) {
        dead.push({ source: batch.sourceId, origin: batch.origin, position: line.position, reason: result.reason, message: result.message, line: line.bytes ?? line.text });
        continue;
      }
      result['event.ingested'] = ingested;
      events.push(result);
      parsed.push({ tracker, line, dataset: result['event.dataset'], id: result['event.id'], rid: result['http.request.id'] });
    }
    const labels = { source: batch.sourceId, format: batch.format };
    if (events.length) this.o.metrics.lines.inc({ ...labels, outcome: 'parsed' }, events.length);
    if (dead.length) {
      this.o.metrics.lines.inc({ ...labels, outcome: 'rejected' }, dead.length);
      await this.withRetry('dead-letter', () => this.o.deadLetter.write(dead));
      tracker.remaining -= dead.length;
    }
    this.join(events, parsed);
  }

  /**
   * The parse of one batch's lines, with one context for the whole batch. Identical lines in
   * one origin are distinct requests: each gets its own ordinal, hence id. The ordinal is
   * counted only when the parser asks for it (lines without a request id), once per line.
   */
  private lineParser(parser: ParserEntry, batch: SourceBatch): (line: SourceLine) => Event | ParseError {
    let dupes = this.dupes.get(batch.origin);
    if (!dupes) this.dupes.set(batch.origin, (dupes = new DuplicateTracker()));
    const tracker = dupes;
    let text = '';
    let ordinal = -1;
    const ctx: ParseContext = {
      fingerprint: this.o.fingerprint ?? null,
      origin: batch.origin,
      duplicateIndex: () => (ordinal >= 0 ? ordinal : (ordinal = tracker.count(text))),
    };
    return (line) => {
      tracker.tick();
      text = line.text;
      ordinal = -1;
      return parser.parse(text, ctx);
    };
  }

  private join(events: Event[], entries: Entry[]): void {
    const joiner = this.o.joiner;
    if (!joiner) {
      this.release(events.map((event, i) => ({ event, entries: [entries[i]!] })));
      return;
    }
    const out: Event[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      this.index.add(entries[i]!);
      if (this.o.time === 'event') this.eventNow = Math.max(this.eventNow, Date.parse(event['@timestamp']) || 0);
      const now = this.o.time === 'event' ? this.eventNow : this.o.clock.now();
      for (const e of joiner.push(event, now)) out.push(e);
    }
    this.release(out);
  }

  private advance(): void {
    if (this.o.joiner && this.o.joiner.pending > 0) this.release(this.o.joiner.advance(this.o.clock.now()));
  }

  /** Events leave the joiner: find the lines they came from, enrich, queue for writing. */
  private release(items: Array<Event | Pending>): void {
    const released: Pending[] = [];
    for (const item of items) {
      const p = 'entries' in item ? item : { event: item, entries: this.index.take(item) };
      if (p.entries.length === 0) this.o.metrics.errors.inc({ component: 'pipeline', stage: 'join-tracking' });
      if (this.o.enrich) {
        try {
          p.event = this.o.enrich(p.event);
        } catch (e) {
          this.o.metrics.errors.inc({ component: 'pipeline', stage: 'enrich' });
          this.o.logger.warn({ err: errorMessage(e) }, 'enrichment failed; event stored unenriched');
        }
      }
      released.push(p);
    }
    if (released.length && this.listeners.length) {
      const events = released.map((p) => p.event);
      const emitted = (this.emitting = this.emitting.then(() => this.emit(events)));
      for (const p of released) p.emitted = emitted;
    }
    for (const p of released) this.toWrite.push(p);
    if (this.o.joiner) this.o.metrics.joinPending.set(this.o.joiner.pending);
    this.flush(false);
  }

  /** Start store writes: full batches now, a partial one when `force` (timer, drain). */
  private flush(force: boolean): void {
    while (this.writes < this.o.writeConcurrency && this.toWrite.length > 0) {
      if (!force && this.toWrite.length < this.o.batchSize) return;
      const batch = this.toWrite.splice(0, this.o.batchSize);
      this.writes++;
      // A failure is already recorded in `fatal` (retries exhausted); drain() reports it.
      void this.write(batch).catch(() => undefined).finally(() => {
        this.writes--;
        this.notify();
        this.flush(false);
      });
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const events = batch.map((p) => p.event);
    const started = process.hrtime.bigint();
    const result = await this.withRetry<WriteResult>('store', () => this.o.store.writeEvents(events));
    this.o.metrics.bulkSeconds.observe({ store: this.o.store.kind }, Number(process.hrtime.bigint() - started) / 1e9);
    const failed = new Map(result.failed.map((f) => [f.id, f]));
    const dead: DeadLetterInput[] = [];
    for (const p of batch) {
      const f = failed.get(p.event['event.id']);
      if (!f) continue;
      for (const e of p.entries) {
        const b = e.tracker.batch;
        dead.push({ source: b.sourceId, origin: b.origin, position: e.line.position, reason: `store-${f.reason}`, message: f.message, line: e.line.text });
      }
    }
    if (dead.length) await this.withRetry('dead-letter', () => this.o.deadLetter.write(dead));
    // emit() never rejects (listener errors are counted), so this only waits.
    await Promise.all(new Set(batch.map((p) => p.emitted)));
    for (const p of batch) for (const e of p.entries) e.tracker.remaining--;
    void this.settle();
  }

  private async emit(events: readonly Event[]): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(events);
      } catch (e) {
        this.o.metrics.errors.inc({ component: 'pipeline', stage: 'listener' });
        this.o.logger.error({ err: errorMessage(e) }, 'event listener failed');
      }
    }
  }

  /** Run `fn` until it succeeds, backing off; only `retry.maxAttempts` makes it give up. */
  private async withRetry<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await fn();
        if (stage === 'store') this.lastStoreError = null;
        this.backoffMs = 0;
        return value;
      } catch (e) {
        this.o.metrics.errors.inc({ component: 'pipeline', stage });
        if (stage === 'store') this.lastStoreError = errorMessage(e);
        if (attempt >= this.retry.maxAttempts) {
          this.fatal ??= new TuskguardError('STORE_UNAVAILABLE', `${stage} write failed ${attempt} times: ${errorMessage(e)}`, {
            hint: 'check that the store is reachable (tuskguard.yaml store:) and has disk space; no line was acknowledged',
            cause: e,
          });
          this.notify();
          throw this.fatal;
        }
        this.backoffMs = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (attempt - 1));
        this.o.logger.warn({ stage, attempt, retryInMs: this.backoffMs, err: errorMessage(e) }, 'write failed; retrying');
        await sleep(this.backoffMs);
      }
    }
  }

  /** Acknowledge finished batches, oldest first, one at a time. */
  private async settle(): Promise<void> {
    if (this.acking) return;
    this.acking = true;
    try {
      for (let t = this.trackers[0]; t && t.remaining === 0 && !this.queue.includes(t); t = this.trackers[0]) {
        try {
          await t.batch.ack?.();
        } catch (e) {
          this.o.metrics.errors.inc({ component: 'pipeline', stage: 'ack' });
          this.o.logger.error({ source: t.batch.sourceId, err: errorMessage(e) }, 'source ack failed');
        }
        this.trackers.shift();
        this.inFlight -= t.batch.lines.length;
        this.o.metrics.inFlight.set(this.inFlight);
        if (this.inFlight === 0) this.holdProcess(false);
        this.notify();
      }
    } finally {
      this.acking = false;
    }
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  private notify(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  private async until(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.fatal) throw this.fatal;
      this.flush(true);
      void this.settle();
      await Promise.race([this.changed(), sleep(50)]);
    }
    if (this.fatal) throw this.fatal;
  }
}
