import type { DetectStateStore, GroupRecord, SavedGroup } from './state.js';
import type { Rule } from './types.js';

interface Entry {
  rec: GroupRecord;
  /** Changed since the last snapshot. */
  dirty: boolean;
}

/**
 * The groups of one rule in memory, bounded by `max`. Past the bound, the tenth of the groups
 * least recently seen (event time) is evicted at once: a sort per max/10 new groups is cheaper
 * than reordering a Map on every event. A group evicted, or idle for the rule type's idle
 * period, is persisted when it still holds state (learned terms, baselines) and dropped when it
 * is empty (an expired window); with no database, a non-empty group is only dropped under the
 * bound, and that is counted.
 */
export class GroupTable {
  private readonly groups = new Map<string, Entry>();
  /** Writes waiting for the next snapshot: evicted groups and deletions. */
  private readonly pending = new Map<string, GroupRecord | null>();
  /** Non-empty groups lost to the bound for want of a database. */
  lost = 0;

  constructor(
    readonly rule: Rule,
    private readonly max: number,
    private readonly store: DetectStateStore | undefined,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  /** The group for `key`: from memory, else the database, else new (values built only then). */
  get(key: string, values: () => Record<string, string>, t: number, wm: number): GroupRecord {
    const entry = this.groups.get(key);
    if (entry) {
      entry.dirty = true;
      return entry.rec;
    }
    const queued = this.pending.get(key);
    let rec = queued ?? (queued === null ? undefined : this.store?.loadGroup(this.rule.id, key, this.rule.detector.shape));
    this.pending.delete(key);
    rec ??= { values: values(), state: this.rule.detector.init(t), lastSeen: t, suppressedUntil: -Infinity, samples: [], key: null, fingerprint: null };
    this.groups.set(key, { rec, dirty: true });
    if (this.groups.size > this.max) this.shrink(key, wm);
    return rec;
  }

  /** Evict the least recently seen tenth, never the group being served. */
  private shrink(keep: string, wm: number): void {
    const victims = [...this.groups]
      .filter(([k]) => k !== keep)
      .sort((a, b) => a[1].rec.lastSeen - b[1].rec.lastSeen)
      .slice(0, Math.max(1, Math.floor(this.max / 10)));
    for (const [k] of victims) this.evict(k, wm);
  }

  /** Move groups idle at watermark `wm` out of memory. */
  sweep(wm: number): void {
    const idle = this.rule.detector.idleMs;
    for (const [key, e] of this.groups) {
      if (e.rec.lastSeen < wm - idle && (this.store || this.rule.detector.isEmpty(e.rec.state, wm))) this.evict(key, wm);
    }
  }

  private evict(key: string, wm: number): void {
    const e = this.groups.get(key)!;
    this.groups.delete(key);
    const empty = this.rule.detector.isEmpty(e.rec.state, wm) && e.rec.suppressedUntil < wm;
    if (!this.store) {
      if (!empty) this.lost++;
      return;
    }
    if (empty) this.pending.set(key, null);
    else if (e.dirty) this.pending.set(key, e.rec);
  }

  /** Collect what the next snapshot must write, and mark everything clean. */
  drain(): { saved: SavedGroup[]; removed: Array<{ rule: string; groupKey: string }> } {
    const shape = this.rule.detector.shape;
    const saved: SavedGroup[] = [];
    const removed: Array<{ rule: string; groupKey: string }> = [];
    for (const [key, e] of this.groups) {
      if (!e.dirty) continue;
      saved.push({ rule: this.rule.id, groupKey: key, shape, record: e.rec });
      e.dirty = false;
    }
    for (const [key, rec] of this.pending) {
      if (rec) saved.push({ rule: this.rule.id, groupKey: key, shape, record: rec });
      else removed.push({ rule: this.rule.id, groupKey: key });
    }
    this.pending.clear();
    return { saved, removed };
  }

  /** Forget everything in memory (restore reloads lazily from the database). */
  clear(): void {
    this.groups.clear();
    this.pending.clear();
  }
}
