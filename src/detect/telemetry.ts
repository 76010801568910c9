import { Counter, Gauge, type Registry } from 'prom-client';
import type { Metrics } from '../core/metrics.js';
import type { GroupTable } from './groups.js';

/**
 * Detection's own series, registered on the process's Metrics registry (once per registry, so
 * several engines on one registry share them). Errors go to the shared
 * `tuskguard_errors_total{component="detect"}`.
 */
export class DetectMetrics {
  readonly findings: Counter<'rule' | 'severity'>;
  readonly late: Counter;
  readonly suppressed: Counter<'rule'>;
  readonly groups: Gauge<'rule'>;
  readonly lost: Gauge<'rule'>;

  constructor(private readonly metrics: Metrics) {
    const r = metrics.registry;
    this.findings = reuse(r, 'tuskguard_findings_total', () =>
      new Counter({ name: 'tuskguard_findings_total', help: 'Findings emitted, by rule and severity', labelNames: ['rule', 'severity'] as const, registers: [r] }),
    );
    this.late = reuse(r, 'tuskguard_detect_late_events_total', () =>
      new Counter({ name: 'tuskguard_detect_late_events_total', help: 'Events behind the watermark, skipped by detection (still stored)', registers: [r] }),
    );
    this.suppressed = reuse(r, 'tuskguard_detect_suppressed_total', () =>
      new Counter({ name: 'tuskguard_detect_suppressed_total', help: 'Hits not emitted because the group was suppressed', labelNames: ['rule'] as const, registers: [r] }),
    );
    this.groups = reuse(r, 'tuskguard_detect_groups', () =>
      new Gauge({ name: 'tuskguard_detect_groups', help: 'Groups held in memory, by rule', labelNames: ['rule'] as const, registers: [r] }),
    );
    this.lost = reuse(r, 'tuskguard_detect_groups_lost', () =>
      new Gauge({ name: 'tuskguard_detect_groups_lost', help: 'Non-empty groups dropped at the memory bound with no database to keep them', labelNames: ['rule'] as const, registers: [r] }),
    );
  }

  error(stage: string): void {
    this.metrics.errors.inc({ component: 'detect', stage });
  }

  observeGroups(tables: readonly GroupTable[]): void {
    for (const t of tables) {
      this.groups.set({ rule: t.rule.id }, t.size);
      this.lost.set({ rule: t.rule.id }, t.lost);
    }
  }
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
