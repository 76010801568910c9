import type { estypes } from '@elastic/elasticsearch';
import type { ElasticsearchStoreConfig } from '../../config/schema.js';
import { ACTION_FIELD_MAPPINGS, EVENT_FIELD_MAPPINGS, FINDING_FIELD_MAPPINGS, typeMapping } from './mappings.js';

/**
 * Index layout. Documents are written to time-based indices named after their own time —
 * `<prefix>-events-2026.11.02` (or `<prefix>-events-2026.11` with `index_period: month`) —
 * so a document's index never depends on when it was ingested (a replay lands where the first
 * write did, and `_id` = document id makes it an overwrite). There is no ILM (the nodes may have
 * no X-Pack): retention deletes whole indices, and searches go through `<prefix>-events-*`.
 */

export const FAMILIES = ['events', 'findings', 'actions'] as const;
export type Family = (typeof FAMILIES)[number];

/** Bumped when a template changes, so an operator can see which version made an index. */
export const TEMPLATE_VERSION = 1;

const MAPPINGS: Record<Family, Record<string, estypes.MappingProperty>> = {
  events: EVENT_FIELD_MAPPINGS,
  findings: FINDING_FIELD_MAPPINGS,
  actions: ACTION_FIELD_MAPPINGS,
};

export class IndexLayout {
  constructor(
    readonly prefix: string,
    readonly period: 'day' | 'month',
  ) {}

  /** The period of the last name made, per family: documents arrive in time order, mostly. */
  private readonly last = new Map<Family, { from: number; to: number; name: string }>();

  /** The index a document of `family` with time `ms` (epoch milliseconds, UTC) goes to. */
  indexFor(family: Family, ms: number): string {
    const last = this.last.get(family);
    if (last && ms >= last.from && ms < last.to) return last.name;
    const name = this.nameFor(family, ms);
    // Period bounds through Date setters (Date.UTC would read years 0-99 as 1900-1999).
    const start = new Date(ms);
    if (this.period === 'month') start.setUTCDate(1);
    start.setUTCHours(0, 0, 0, 0);
    const end = new Date(start.getTime());
    if (this.period === 'month') end.setUTCMonth(end.getUTCMonth() + 1);
    else end.setUTCDate(end.getUTCDate() + 1);
    if (Number.isFinite(start.getTime()) && Number.isFinite(end.getTime())) this.last.set(family, { from: start.getTime(), to: end.getTime(), name });
    return name;
  }

  private nameFor(family: Family, ms: number): string {
    const d = new Date(ms);
    const y = String(d.getUTCFullYear()).padStart(4, '0');
    const m = String(d.getUTCMonth() + 1).padStart(2, '0');
    if (this.period === 'month') return `${this.prefix}-${family}-${y}.${m}`;
    return `${this.prefix}-${family}-${y}.${m}.${String(d.getUTCDate()).padStart(2, '0')}`;
  }

  /** Wildcard over every index of a family (searches, refresh). */
  pattern(family: Family): string {
    return `${this.prefix}-${family}-*`;
  }

  /** Alias every index of a family joins at creation (for people and Kibana; searches use the pattern). */
  alias(family: Family): string {
    return `${this.prefix}-${family}`;
  }

  /**
   * Epoch ms at which the period an index covers ends, or null when the name is not one of ours
   * (so retention never touches an index it did not name). Either period is recognised, so
   * indices made before a change of `index_period` still expire.
   */
  periodEnd(family: Family, index: string): number | null {
    const head = `${this.prefix}-${family}-`;
    if (!index.startsWith(head)) return null;
    const m = /^(?<y>\d{4})\.(?<m>\d{2})(?:\.(?<d>\d{2}))?$/.exec(index.slice(head.length));
    if (!m?.groups) return null;
    const y = Number(m.groups.y);
    const mon = Number(m.groups.m) - 1;
    if (m.groups.d === undefined) return Date.UTC(y, mon + 1, 1);
    return Date.UTC(y, mon, Number(m.groups.d) + 1);
  }

  componentName(part: 'settings' | Family): string {
    return `${this.prefix}-${part}`;
  }

  templateName(family: Family): string {
    return `${this.prefix}-${family}`;
  }
}

/** Component templates: shared index settings, then one mapping per family. */
export function componentTemplates(
  layout: IndexLayout,
  config: Pick<ElasticsearchStoreConfig, 'shards' | 'replicas'>,
): estypes.ClusterPutComponentTemplateRequest[] {
  const meta = { managed_by: 'tuskguard', version: TEMPLATE_VERSION };
  const settings: estypes.ClusterPutComponentTemplateRequest = {
    name: layout.componentName('settings'),
    _meta: meta,
    template: {
      settings: {
        number_of_shards: config.shards,
        number_of_replicas: config.replicas,
        // Big enough for any document the mappings allow, small enough to stop a runaway one.
        'mapping.total_fields.limit': 200,
      },
    },
  };
  const mappings = FAMILIES.map((family) => ({
    name: layout.componentName(family),
    _meta: meta,
    template: { mappings: typeMapping(MAPPINGS[family]) },
  }));
  return [settings, ...mappings];
}

/** Composable index templates, one per family, made of the components above. */
export function indexTemplates(layout: IndexLayout): estypes.IndicesPutIndexTemplateRequest[] {
  return FAMILIES.map((family) => ({
    name: layout.templateName(family),
    index_patterns: [layout.pattern(family)],
    composed_of: [layout.componentName('settings'), layout.componentName(family)],
    // Above the built-in templates (priority ≤ 100), so ours wins for our own names.
    priority: 200,
    version: TEMPLATE_VERSION,
    _meta: { managed_by: 'tuskguard', description: `tuskguard ${family}` },
    template: { aliases: { [layout.alias(family)]: {} } },
  }));
}
