/**
 * Kibana saved objects as plain data, in the NDJSON form that Kibana 8.14's
 * `POST /api/saved_objects/_import` (and Stack Management → Saved objects → Import) accepts.
 *
 * Migration versions are deliberately the oldest 8.x version whose attribute shape we write,
 * not the newest Kibana knows: on import Kibana migrates an older object forward, but refuses
 * one that claims a version newer than itself. So the file imports into 8.14 and later 8.x.
 */

/** Kibana version the panels and objects are written for (dashboard panel `version`). */
export const KIBANA_VERSION = '8.14.0';

/** `coreMigrationVersion` of every object: the core version since which this shape holds. */
export const CORE_MIGRATION_VERSION = '8.8.0';

/** `typeMigrationVersion` per saved-object type; also the list of types this file may contain. */
export const TYPE_MIGRATION_VERSION = {
  'index-pattern': '8.0.0',
  search: '8.0.0',
  lens: '8.9.0',
  dashboard: '8.9.0',
} as const;

export type SavedObjectType = keyof typeof TYPE_MIGRATION_VERSION;

export const SAVED_OBJECT_TYPES = Object.keys(TYPE_MIGRATION_VERSION) as SavedObjectType[];

export interface Reference {
  /** Id of the referenced object (must be in the same file for a self-contained import). */
  id: string;
  /** Name the referencing attributes use (`panelRefName`, `indexRefName`, Lens layer name). */
  name: string;
  type: SavedObjectType;
}

export interface SavedObject {
  type: SavedObjectType;
  /** Stable id: re-importing with overwrite updates the same objects instead of adding copies. */
  id: string;
  attributes: Record<string, unknown>;
  references: Reference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
  managed: false;
}

export function savedObject(
  type: SavedObjectType,
  id: string,
  attributes: Record<string, unknown>,
  references: Reference[] = [],
): SavedObject {
  return {
    type,
    id,
    attributes,
    references,
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: TYPE_MIGRATION_VERSION[type],
    managed: false,
  };
}

/** The reference name Kibana uses for an index in `searchSourceJSON` (searches, dashboards). */
export const SEARCH_INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

/**
 * One object per line, top-level keys in alphabetical order as Kibana's export writes them,
 * types in dependency order (data views, searches, visualizations, dashboards). Ends with a
 * newline so `cat a.ndjson b.ndjson` stays valid.
 */
export function toNdjson(objects: readonly SavedObject[]): string {
  const rank = (o: SavedObject) => SAVED_OBJECT_TYPES.indexOf(o.type);
  const sorted = [...objects].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
  return sorted.map((o) => JSON.stringify(sortTopLevel(o))).join('\n') + '\n';
}

function sortTopLevel(o: SavedObject): Record<string, unknown> {
  const entries = Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(entries);
}

/** `searchSourceJSON` for a query in Lucene syntax (see README: why Lucene, not KQL). */
export function searchSource(query: string, withIndex: boolean): string {
  const source: Record<string, unknown> = { query: { query, language: 'lucene' }, filter: [] };
  if (withIndex) source.indexRefName = SEARCH_INDEX_REF;
  return JSON.stringify(source);
}
