import type { estypes } from '@elastic/elasticsearch';
import { elasticsearchStoreSchema } from '../../src/config/schema.js';
import { FAMILIES, IndexLayout, componentTemplates, type Family } from '../../src/store/elasticsearch/indices.js';

/**
 * Reads a Kibana saved-object NDJSON file the way an importer would, and lists every field each
 * object uses, so tests can hold the file against the index templates the store installs.
 * Deliberately independent of dashboards/lib (the builder): it sees only the file.
 */

export interface SavedObjectLine {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: { id: string; name: string; type: string }[];
  coreMigrationVersion?: string;
  typeMigrationVersion?: string;
}

/** Parse NDJSON; a bad line throws naming its line number. Blank lines are not allowed. */
export function parseNdjson(text: string): SavedObjectLine[] {
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`line ${i + 1}: not a JSON object`);
    return value as SavedObjectLine;
  });
}

/** The prefix a default config writes under (the store's `index_prefix` default). */
export function defaultPrefix(): string {
  return elasticsearchStoreSchema.parse({ url: 'http://localhost:9200' }).index_prefix;
}

export interface InstalledField {
  type: string;
}

/**
 * Every field (dotted name, multi-fields included) of each family's mapping, as installed by
 * the store's own component templates.
 */
export function installedFields(prefix = defaultPrefix()): Record<Family, Map<string, InstalledField>> {
  const layout = new IndexLayout(prefix, 'day');
  const config = elasticsearchStoreSchema.parse({ url: 'http://localhost:9200', index_prefix: prefix });
  const templates = componentTemplates(layout, config);
  const out = {} as Record<Family, Map<string, InstalledField>>;
  for (const family of FAMILIES) {
    const component = templates.find((t) => t.name === layout.componentName(family));
    const properties = component?.template.mappings?.properties;
    if (!properties) throw new Error(`no installed mapping for ${family}`);
    out[family] = new Map();
    flatten(properties, '', out[family]);
  }
  return out;
}

function flatten(properties: Record<string, estypes.MappingProperty>, path: string, into: Map<string, InstalledField>): void {
  for (const [name, p] of Object.entries(properties)) {
    const full = path ? `${path}.${name}` : name;
    const prop = p as { type?: string; properties?: Record<string, estypes.MappingProperty>; fields?: Record<string, estypes.MappingProperty> };
    if (prop.properties) flatten(prop.properties, full, into);
    if (prop.type) into.set(full, { type: prop.type });
    if (prop.fields) flatten(prop.fields, full, into);
  }
}

/** Elasticsearch types Kibana can aggregate and sort on (doc values). `text` is not one. */
export const AGGREGATABLE = new Set(['keyword', 'ip', 'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'date', 'date_nanos', 'boolean']);

/** Field names a Lucene query string names: `field:value` and `_exists_:field`. */
export function luceneFields(query: string): string[] {
  const fields = new Set<string>();
  for (const m of query.matchAll(/_exists_:(?<field>[\w.@]+)/g)) fields.add(m.groups!.field!);
  // A field name starts a term (after start, space or paren) and ends at an unescaped colon.
  for (const m of query.matchAll(/(?:^|[\s(!+-])(?<field>[A-Za-z@][\w.@]*):/g)) fields.add(m.groups!.field!);
  fields.delete('_exists_');
  return [...fields];
}

/** Wildcard index pattern → RegExp (Kibana and Elasticsearch treat `*` the same here). */
export function patternRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
