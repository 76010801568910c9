import type { DetectStateStore, GroupRecord, SavedGroup } from './state.js';
import type { Rule } from './types.js';

/**
 * The groups of one rule in memory: a Map in least-recently-used order (a touched group is
 * re-inserted at the end), bounded by `max`. A group pushed out by the bound or idle for the
 * rule type's idle period is persisted when it still holds state (learned terms, baselines)
 * and dropped when it is empty (an expired window); with no database, a non-empty group is
 * only dropped under the bound, and that is counted.
 */
export class GroupTable {
  private readonly groups = new Map<string, GroupRecord>();
  private readonly dirty = new Set<string>();
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

  /** The group for `key`: from memory, else the database, else new. */
  get(key: string, values: Record<string, string>, t: number): GroupRecord {
    let g = this.groups.get(key);
    if (g) {
      this.groups.delete(key);
    } else {
      const queued = this.pending.get(key);
      g = queued ?? (queued === null ? undefined : this.store?.loadGroup(this.rule.id, key, this.rule.detector.shape));
      this.pending.delete(key);
      g ??= { values, state: this.rule.detector.init(t), lastSeen: t, suppressedUntil: -Infinity, samples: [], key: null, fingerprint: null };
    }
    this.groups.set(key, g);
    this.dirty.add(key);
    if (this.groups.size > this.max) this.evict(this.groups.keys().next().value!, Infinity);
    return g;
  }

  /** Move groups idle at watermark `wm` out of memory. */
  sweep(wm: number): void {
    const idle = this.rule.detector.idleMs;
    for (const [key, g] of this.groups) {
      if (g.lastSeen < wm - idle && (this.store || this.rule.detector.isEmpty(g.state, wm))) this.evict(key, wm);
    }
  }

  private evict(key: string, wm: number): void {
    const g = this.groups.get(key)!;
    this.groups.delete(key);
    const wasDirty = this.dirty.delete(key);
    const empty = this.rule.detector.isEmpty(g.state, wm) && g.suppressedUntil < wm;
    if (!this.store) {
      if (!empty) this.lost++;
      return;
    }
    if (empty) this.pending.set(key, null);
    else if (wasDirty) this.pending.set(key, g);
  }

  /** Collect what the next snapshot must write, and mark everything clean. */
  drain(): { saved: SavedGroup[]; removed: Array<{ rule: string; groupKey: string }> } {
    const shape = this.rule.detector.shape;
    const saved: SavedGroup[] = [];
    const removed: Array<{ rule: string; groupKey: string }> = [];
    for (const key of this.dirty) saved.push({ rule: this.rule.id, groupKey: key, shape, record: this.groups.get(key)! });
    for (const [key, g] of this.pending) {
      if (g) saved.push({ rule: this.rule.id, groupKey: key, shape, record: g });
      else removed.push({ rule: this.rule.id, groupKey: key });
    }
    this.dirty.clear();
    this.pending.clear();
    return { saved, removed };
  }

  /** Forget everything in memory (restore reloads lazily from the database). */
  clear(): void {
    this.groups.clear();
    this.dirty.clear();
    this.pending.clear();
  }
}
