import { FAMILIES, IndexLayout, type Family } from '../../src/store/elasticsearch/indices.js';
import { AGGREGATABLE, installedFields, luceneFields, type SavedObjectLine } from './inspect.js';

/**
 * Checks a parsed saved-object file: the envelope Kibana's importer needs, references, panel
 * and Lens wiring, and every field against the installed mappings. Each check returns a list
 * of problems (empty = fine) so a test can show them all at once, and a negative test can
 * assert that a planted mistake is caught.
 */

/** Saved-object types of Kibana 8 that this file may hold. */
export const KNOWN_TYPES = new Set(['index-pattern', 'search', 'lens', 'visualization', 'dashboard']);
const TARGET = [8, 14, 0];

export interface FieldUse {
  object: string;
  family: Family;
  field: string;
  /** Aggregated or sorted on: needs doc values (not `text`). */
  aggregated: boolean;
  where: string;
}

type Lens = { datasourceStates?: { formBased?: { layers?: Record<string, Layer> } }; query?: { query?: string; language?: string }; visualization?: Record<string, unknown> };
type Layer = { columns: Record<string, Column>; columnOrder: string[] };
type Column = { operationType: string; sourceField?: string; isBucketed: boolean; filter?: { query: string; language: string }; params?: { orderBy?: { type: string; columnId?: string } } };

function newer(version: string | undefined): boolean {
  const parts = (version ?? '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((parts[i] ?? 0) !== TARGET[i]) return (parts[i] ?? 0) > TARGET[i]!;
  return false;
}

export function checkEnvelope(objects: SavedObjectLine[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  objects.forEach((o, i) => {
    const at = `line ${i + 1} (${o.type}/${o.id})`;
    if (!KNOWN_TYPES.has(o.type)) problems.push(`${at}: unknown saved-object type`);
    if (typeof o.id !== 'string' || o.id === '') problems.push(`${at}: missing id`);
    if (seen.has(o.id)) problems.push(`${at}: duplicate id`);
    seen.add(o.id);
    if (typeof o.attributes !== 'object' || o.attributes === null) problems.push(`${at}: no attributes`);
    if (typeof o.attributes?.title !== 'string' || o.attributes.title === '') problems.push(`${at}: no title`);
    if (!Array.isArray(o.references)) problems.push(`${at}: references is not an array`);
    for (const v of ['coreMigrationVersion', 'typeMigrationVersion'] as const) {
      if (!/^\d+\.\d+\.\d+$/.test(o[v] ?? '')) problems.push(`${at}: ${v} missing or malformed`);
      else if (newer(o[v])) problems.push(`${at}: ${v} ${o[v]} is newer than Kibana 8.14 and would be refused`);
    }
  });
  return problems;
}

export function checkReferences(objects: SavedObjectLine[]): string[] {
  const byKey = new Set(objects.map((o) => `${o.type}/${o.id}`));
  const problems: string[] = [];
  for (const o of objects) {
    const names = new Set<string>();
    for (const r of o.references ?? []) {
      if (!byKey.has(`${r.type}/${r.id}`)) problems.push(`${o.type}/${o.id}: reference ${r.name} → ${r.type}/${r.id} is not in the file`);
      if (names.has(r.name)) problems.push(`${o.type}/${o.id}: reference name ${r.name} used twice`);
      names.add(r.name);
    }
    problems.push(...wiring(o, names));
  }
  return problems;
}

/** Names the attributes use must exist among the object's references. */
function wiring(o: SavedObjectLine, names: Set<string>): string[] {
  const need: string[] = [];
  const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
  const source = meta?.searchSourceJSON ? (JSON.parse(meta.searchSourceJSON) as { indexRefName?: string }) : {};
  if (source.indexRefName) need.push(source.indexRefName);
  if (o.type === 'search' && !source.indexRefName) return [`search/${o.id}: searchSourceJSON names no index`];
  if (o.type === 'lens') need.push(...Object.keys(lensLayers(o)).map((id) => `indexpattern-datasource-layer-${id}`));
  if (o.type === 'dashboard') need.push(...panels(o).map((p) => `${p.panelIndex}:${p.panelRefName}`));
  return need.filter((n) => !names.has(n)).map((n) => `${o.type}/${o.id}: no reference named ${n}`);
}

export interface Panel {
  type: string;
  panelIndex: string;
  panelRefName?: string;
  gridData: { x: number; y: number; w: number; h: number; i: string };
}

export function panels(o: SavedObjectLine): Panel[] {
  return JSON.parse(String(o.attributes.panelsJSON ?? '[]')) as Panel[];
}

export function lensLayers(o: SavedObjectLine): Record<string, Layer> {
  return (o.attributes.state as Lens | undefined)?.datasourceStates?.formBased?.layers ?? {};
}

export function checkDashboards(objects: SavedObjectLine[]): string[] {
  const problems: string[] = [];
  for (const o of objects.filter((x) => x.type === 'dashboard')) {
    const list = panels(o);
    if (list.length === 0) problems.push(`dashboard/${o.id}: no panels`);
    const cells = new Map<string, string>();
    for (const p of list) {
      const ref = o.references.find((r) => r.name === `${p.panelIndex}:${p.panelRefName}`);
      if (ref && ref.type !== p.type) problems.push(`dashboard/${o.id}: panel ${p.panelIndex} is ${p.type} but references a ${ref.type}`);
      const g = p.gridData;
      if (g.x < 0 || g.x + g.w > 48 || g.w <= 0 || g.h <= 0) problems.push(`dashboard/${o.id}: panel ${p.panelIndex} is outside the 48-wide grid`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          if (other && other !== p.panelIndex) problems.push(`dashboard/${o.id}: panels ${other} and ${p.panelIndex} overlap`);
          cells.set(`${x},${y}`, p.panelIndex);
        }
      }
    }
  }
  return [...new Set(problems)];
}

export function checkLens(objects: SavedObjectLine[]): string[] {
  const problems: string[] = [];
  for (const o of objects.filter((x) => x.type === 'lens')) {
    const layers = lensLayers(o);
    if (Object.keys(layers).length === 0) problems.push(`lens/${o.id}: no form-based layer`);
    for (const [id, layer] of Object.entries(layers)) {
      const cols = Object.keys(layer.columns);
      if ([...cols].sort().join() !== [...layer.columnOrder].sort().join()) problems.push(`lens/${o.id}: layer ${id} columnOrder does not list its columns`);
      for (const [cid, c] of Object.entries(layer.columns)) {
        const by = c.params?.orderBy;
        if (by?.type === 'column' && layer.columns[by.columnId ?? '']?.isBucketed !== false) problems.push(`lens/${o.id}: ${cid} is ordered by a column that is not a metric`);
      }
    }
    const used = JSON.stringify((o.attributes.state as Lens).visualization ?? {});
    const all = new Set(Object.values(layers).flatMap((l) => Object.keys(l.columns)));
    for (const m of used.matchAll(/"(?:xAccessor|splitAccessor|metricAccessor|secondaryMetricAccessor|columnId)":"(?<id>[^"]+)"/g)) {
      if (!all.has(m.groups!.id!)) problems.push(`lens/${o.id}: visualization uses unknown column ${m.groups!.id}`);
    }
  }
  return problems;
}

/** Data view id → family, by its title being the store's wildcard for that family. */
export function dataViewFamilies(objects: SavedObjectLine[], prefix: string): Map<string, Family> {
  const layout = new IndexLayout(prefix, 'day');
  const out = new Map<string, Family>();
  for (const o of objects.filter((x) => x.type === 'index-pattern')) {
    const family = FAMILIES.find((f) => layout.pattern(f) === o.attributes.title);
    if (family) out.set(o.id, family);
  }
  return out;
}

/** Every field an object uses, with the family of the data view it reads. */
export function fieldUses(objects: SavedObjectLine[], families: Map<string, Family>): { uses: FieldUse[]; problems: string[] } {
  const uses: FieldUse[] = [];
  const problems: string[] = [];
  for (const o of objects) {
    if (o.type === 'dashboard') continue;
    const viewId = o.type === 'index-pattern' ? o.id : o.references.find((r) => r.type === 'index-pattern')?.id;
    const family = viewId ? families.get(viewId) : undefined;
    if (!family) {
      problems.push(`${o.type}/${o.id}: reads no data view over a tuskguard index family`);
      continue;
    }
    const add = (field: string, aggregated: boolean, where: string) => uses.push({ object: `${o.type}/${o.id}`, family, field, aggregated, where });
    usesOf(o, add);
  }
  return { uses, problems };
}

function usesOf(o: SavedObjectLine, add: (field: string, aggregated: boolean, where: string) => void): void {
  const a = o.attributes;
  if (o.type === 'index-pattern') {
    add(String(a.timeFieldName), true, 'timeFieldName');
    for (const f of Object.keys(JSON.parse(String(a.fieldFormatMap ?? '{}')) as object)) add(f, false, 'fieldFormatMap');
    return;
  }
  if (o.type === 'search') {
    for (const f of a.columns as string[]) add(f, false, 'columns');
    for (const [f] of a.sort as [string, string][]) add(f, true, 'sort');
    const source = JSON.parse((a.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { query: { query: string } };
    for (const f of luceneFields(source.query.query)) add(f, false, 'query');
    return;
  }
  const state = a.state as Lens;
  for (const f of luceneFields(state.query?.query ?? '')) add(f, false, 'query');
  for (const [id, layer] of Object.entries(lensLayers(o))) {
    for (const [cid, c] of Object.entries(layer.columns)) {
      if (c.sourceField && c.sourceField !== '___records___') add(c.sourceField, c.operationType !== 'count', `layer ${id} column ${cid} (${c.operationType})`);
      for (const f of luceneFields(c.filter?.query ?? '')) add(f, false, `layer ${id} column ${cid} filter`);
    }
  }
}

export function checkFields(uses: FieldUse[], installed = installedFields()): string[] {
  const problems: string[] = [];
  for (const u of uses) {
    const mapped = installed[u.family].get(u.field);
    if (!mapped) problems.push(`${u.object}: ${u.where} uses ${u.field}, which the ${u.family} template does not map`);
    else if (u.aggregated && !AGGREGATABLE.has(mapped.type)) problems.push(`${u.object}: ${u.where} aggregates ${u.field}, a ${mapped.type} field`);
  }
  return problems;
}

/** Lucene is the only query language the file uses (see dashboards/README.md). */
export function checkQueryLanguage(text: string): string[] {
  return [...text.matchAll(/\\?"language\\?":\\?"(?<lang>\w+)/g)].map((m) => m.groups!.lang!).filter((l) => l !== 'lucene').map((l) => `query language ${l} used`);
}
