import type { Event } from '../core/event.js';
import type { Finding } from '../core/finding.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ControlDb } from '../store/control.js';
import { type FieldContext, fieldGetter, fieldValues } from './fields.js';
import { buildFinding, findingId } from './findings.js';
import { GroupTable } from './groups.js';
import type { KeyLookup } from './keys.js';
import { DetectStateStore, type GroupRecord } from './state.js';
import { DetectMetrics } from './telemetry.js';
import type { Rule } from './types.js';

export interface DetectionEngineOptions {
  /** Compiled, enabled rules (see loadRulesOrThrow). */
  rules: readonly Rule[];
  /** Control-plane database for state; without it state lives in memory only. */
  db?: ControlDb | undefined;
  /** Separates engines sharing one database (default `default`). */
  namespace?: string;
  /** Wall clock, for `detected_at` and the snapshot cadence. */
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Key inventory, for key status, granted scopes and key ids. */
  keys?: KeyLookup | undefined;
  /** Out-of-order tolerance: an event older than the newest event time minus this is late and skipped (default 30s). */
  latenessMs?: number;
  /** Groups kept in memory per rule (default 20,000). */
  maxGroupsPerRule?: number;
  /** Snapshot after this many events (default 50,000) … */
  snapshotEveryEvents?: number;
  /** … or this much wall-clock time (default 10s), whichever comes first. */
  snapshotEveryMs?: number;
  /** Emitted finding ids are remembered this long in event time (default 90d). */
  emittedRetentionMs?: number;
}

const SWEEP_EVERY_MS = 60_000;
const SAMPLES = 5;
const EMITTED_MEMORY = 100_000;

/**
 * The streaming detection engine. It runs on event time: a watermark trails the newest event
 * time by the lateness bound, events behind it are skipped as late (counted, never an error:
 * they are already stored), and idle groups are swept out as it advances. The same engine
 * serves live tailing, replay and backtests; only the source of events differs.
 *
 * Restart safety: with a database, group state and the event-time position are saved every N
 * events or T seconds and at `close()`; emitted finding ids are recorded the moment they are
 * emitted. After a restart, events older than the restored watermark are skipped, and a
 * finding whose id was already emitted is never emitted again.
 */
export class DetectionEngine {
  private readonly tables: GroupTable[];
  private readonly groupGetters: Array<Array<ReturnType<typeof fieldGetter>>>;
  /** Per rule, its group_by signature: rules sharing one compute the event's group once. */
  private readonly groupSigs: string[];
  private readonly groupCache = new Map<string, string[] | null>();
  private readonly store: DetectStateStore | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly telemetry: DetectMetrics | undefined;
  private readonly ctx: FieldContext;
  private readonly lateness: number;
  private readonly emitted = new Set<string>();
  private maxT = -Infinity;
  private floor = -Infinity;
  private lastSweep = -Infinity;
  private sinceSnapshot = 0;
  private lastSnapshotAt: number;

  constructor(private readonly o: DetectionEngineOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? silentLogger;
    this.telemetry = o.metrics ? new DetectMetrics(o.metrics) : undefined;
    this.ctx = { keys: o.keys };
    this.lateness = o.latenessMs ?? 30_000;
    this.store = o.db ? new DetectStateStore(o.db, o.namespace) : undefined;
    this.tables = o.rules.map((r) => new GroupTable(r, o.maxGroupsPerRule ?? 20_000, this.store));
    this.groupGetters = o.rules.map((r) => r.group_by.map((f) => fieldGetter(f)));
    this.groupSigs = o.rules.map((r) => r.group_by.join('\u0000'));
    this.lastSnapshotAt = this.clock.now();
    this.restore();
  }

  /** Event time below which events are late: newest event time − lateness, or later if advanced. */
  get watermark(): number {
    return Math.max(this.maxT - this.lateness, this.floor);
  }

  /** Run one event through every rule; returns the findings it triggered (usually none). */
  process(event: Event): Finding[] {
    const t = Date.parse(event['@timestamp']);
    if (Number.isNaN(t)) {
      this.telemetry?.error('timestamp');
      return [];
    }
    if (t < this.watermark) {
      this.telemetry?.late.inc();
      return [];
    }
    if (t > this.maxT) this.maxT = t;
    this.groupCache.clear();
    const out: Finding[] = [];
    for (let i = 0; i < this.tables.length; i++) {
      try {
        const f = this.evaluate(i, event, t);
        if (f) out.push(f);
      } catch (e) {
        this.telemetry?.error('rule');
        this.log.warn({ rule: this.tables[i]!.rule.id, err: (e as Error).message, eventId: event['event.id'] }, 'rule failed on an event');
      }
    }
    this.afterEvent();
    return out;
  }

  private evaluate(i: number, event: Event, t: number): Finding | undefined {
    const table = this.tables[i]!;
    const rule = table.rule;
    if (!rule.filter(event, this.ctx)) return undefined;
    for (const ex of rule.exceptions) if (t < ex.expires && ex.match(event, this.ctx)) return undefined;
    const parts = this.groupValues(i, event);
    if (!parts) return undefined;
    const groupKey = parts.length === 1 ? parts[0]! : parts.join('\u001f');
    const values = () => Object.fromEntries(rule.group_by.map((f, k) => [f, parts[k]!]));
    const group = table.get(groupKey, values, t, this.watermark);
    this.touch(group, event, t);
    const hit = rule.detector.observe(group.state, event, t, this.ctx);
    if (!hit) return undefined;
    if (t < group.suppressedUntil) {
      this.telemetry?.suppressed.inc({ rule: rule.id });
      return undefined;
    }
    const id = findingId(rule.id, groupKey, hit.windowKey);
    if (this.wasEmitted(id)) return undefined;
    group.suppressedUntil = t + rule.suppressMs;
    this.remember(id, rule.id, t);
    this.telemetry?.findings.inc({ rule: rule.id, severity: rule.severity });
    return buildFinding({ rule, groupKey, group, hit, event, t, detectedAt: this.clock.now() });
  }

  /** The event's group-by values as text, or undefined when one is missing (the rule does not apply). */
  private groupValues(i: number, event: Event): string[] | undefined {
    const sig = this.groupSigs[i]!;
    const cached = this.groupCache.get(sig);
    if (cached !== undefined) return cached ?? undefined;
    let parts: string[] | null = [];
    for (const get of this.groupGetters[i]!) {
      const v = fieldValues(get, event, this.ctx)[0];
      if (v === undefined) {
        parts = null;
        break;
      }
      parts.push(String(v));
    }
    this.groupCache.set(sig, parts);
    return parts ?? undefined;
  }

  /** Last-seen time, recent event ids and the key of a group. */
  private touch(group: GroupRecord, event: Event, t: number): void {
    if (t > group.lastSeen) group.lastSeen = t;
    const samples = group.samples;
    if (samples.length >= SAMPLES) samples.copyWithin(0, 1);
    samples[Math.min(samples.length, SAMPLES - 1)] = event['event.id'];
    const fp = event['tuskguard.fingerprint'];
    if (fp && fp !== group.fingerprint) {
      group.fingerprint = fp;
      group.key = event['tuskguard.key_id'] ?? this.o.keys?.byFingerprint(fp)?.keyId ?? null;
    } else if (fp && group.key === null && event['tuskguard.key_id']) group.key = event['tuskguard.key_id'];
  }

  private wasEmitted(id: string): boolean {
    return this.emitted.has(id) || (this.store?.hasEmitted(id) ?? false);
  }

  private remember(id: string, rule: string, t: number): void {
    this.emitted.add(id);
    if (this.emitted.size > EMITTED_MEMORY) this.emitted.delete(this.emitted.values().next().value!);
    this.store?.recordEmitted(id, rule, t);
  }

  private afterEvent(): void {
    this.sinceSnapshot++;
    if (this.watermark - this.lastSweep >= SWEEP_EVERY_MS) this.sweep();
    if (!this.store) return;
    const due =
      this.sinceSnapshot >= (this.o.snapshotEveryEvents ?? 50_000) ||
      this.clock.now() - this.lastSnapshotAt >= (this.o.snapshotEveryMs ?? 10_000);
    if (due) this.snapshot();
  }

  private sweep(): void {
    const wm = this.watermark;
    this.lastSweep = wm;
    for (const t of this.tables) t.sweep(wm);
    this.telemetry?.observeGroups(this.tables);
  }

  /**
   * The caller vouches that no event older than `ms` will arrive (e.g. a live source idle
   * until that wall-clock time): the watermark moves, idle groups are swept. No rule type
   * fires on the passage of time alone today, so this returns [] — the signature leaves room.
   */
  advanceWatermark(ms: number): Finding[] {
    if (ms > this.floor) this.floor = ms;
    if (this.watermark - this.lastSweep >= SWEEP_EVERY_MS) this.sweep();
    return [];
  }

  /** End of input (replay, backtest, shutdown): sweep and snapshot. Returns [] like advanceWatermark. */
  flush(): Finding[] {
    this.sweep();
    this.snapshot();
    return [];
  }

  /** Save dirty and evicted groups and the event-time position (no-op without a database). */
  snapshot(): void {
    this.sinceSnapshot = 0;
    this.lastSnapshotAt = this.clock.now();
    if (!this.store) return;
    const saved = [];
    const removed = [];
    for (const t of this.tables) {
      const d = t.drain();
      saved.push(...d.saved);
      removed.push(...d.removed);
    }
    this.store.save(saved, removed, this.maxT, this.clock.now());
    const retention = this.o.emittedRetentionMs ?? 90 * 86_400_000;
    if (Number.isFinite(this.maxT)) this.store.pruneEmitted(this.maxT - retention);
    this.log.debug({ groups: saved.length, removed: removed.length }, 'detection state saved');
  }

  /**
   * Reload from the database: the event-time position, and group state lazily as groups
   * recur. State saved under another shape (a rule whose meaning changed) is discarded.
   */
  restore(): void {
    for (const t of this.tables) t.clear();
    this.emitted.clear();
    if (!this.store) return;
    for (const t of this.tables) {
      const dropped = this.store.dropOtherShapes(t.rule.id, t.rule.detector.shape);
      if (dropped) this.log.info({ rule: t.rule.id, dropped }, 'rule changed: its saved state was discarded');
    }
    this.maxT = this.store.maxEventTime() ?? -Infinity;
    // Events up to the saved position were processed before: a source that re-delivers them
    // after a crash must not count them twice, so the restored watermark is that position.
    this.floor = this.maxT;
    this.lastSweep = this.watermark;
  }

  /** Groups currently in memory, per rule id (for status and tests). */
  groupCounts(): Record<string, number> {
    return Object.fromEntries(this.tables.map((t) => [t.rule.id, t.size]));
  }

  /** Snapshot and release; the database stays open (its owner closes it). */
  close(): void {
    this.flush();
  }
}
