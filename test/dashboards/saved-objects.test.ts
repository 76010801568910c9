import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildNdjson, NDJSON_PATH } from '../../dashboards/build.js';
import { FAMILIES, IndexLayout, indexTemplates } from '../../src/store/elasticsearch/indices.js';
import { checkDashboards, checkEnvelope, checkFields, checkLens, checkQueryLanguage, checkReferences, dataViewFamilies, fieldUses, panels } from './check.js';
import { defaultPrefix, installedFields, parseNdjson, patternRegExp, type SavedObjectLine } from './inspect.js';

const text = readFileSync(NDJSON_PATH, 'utf8');
const objects = parseNdjson(text);
const prefix = defaultPrefix();

/** A deep copy to plant a mistake in. */
function copy(): SavedObjectLine[] {
  return structuredClone(objects);
}

function problemsOf(list: SavedObjectLine[]): string[] {
  const { uses, problems } = fieldUses(list, dataViewFamilies(list, prefix));
  return [...checkEnvelope(list), ...checkReferences(list), ...checkDashboards(list), ...checkLens(list), ...problems, ...checkFields(uses)];
}

function byId(list: SavedObjectLine[], id: string): SavedObjectLine {
  const found = list.find((o) => o.id === id);
  if (!found) throw new Error(`no object ${id}`);
  return found;
}

describe('dashboards/tuskguard.ndjson', () => {
  it('is what dashboards/build.ts builds (edit the definitions, then rebuild)', () => {
    expect(text).toBe(buildNdjson());
  });

  it('holds one saved object of a known type per line, with unique ids and 8.14-compatible migration versions', () => {
    expect(text.endsWith('\n')).toBe(true);
    expect(checkEnvelope(objects)).toEqual([]);
    const count = (type: string) => objects.filter((o) => o.type === type).length;
    expect(count('index-pattern')).toBe(3);
    expect(count('dashboard')).toBe(3);
    expect(count('search')).toBeGreaterThanOrEqual(3);
    expect(count('lens')).toBeGreaterThanOrEqual(15);
  });

  it('resolves every reference, panel and Lens layer to an object in the file', () => {
    expect(checkReferences(objects)).toEqual([]);
    expect(checkDashboards(objects)).toEqual([]);
    expect(checkLens(objects)).toEqual([]);
  });

  it('places every search and visualization on a dashboard', () => {
    const placed = new Set(objects.filter((o) => o.type === 'dashboard').flatMap((o) => o.references.map((r) => r.id)));
    const unplaced = objects.filter((o) => o.type === 'lens' && !placed.has(o.id)).map((o) => o.id);
    expect(unplaced).toEqual([]);
    const titles = objects.filter((o) => o.type === 'dashboard').map((o) => o.attributes.title);
    expect(titles).toEqual(expect.arrayContaining(['tuskguard: Key usage', 'tuskguard: Findings', 'tuskguard: Actions & audit']));
  });

  it('uses only fields the installed templates map, and aggregates only aggregatable ones', () => {
    const { uses, problems } = fieldUses(objects, dataViewFamilies(objects, prefix));
    expect(problems).toEqual([]);
    expect(checkFields(uses)).toEqual([]);
    // The check saw the fields that matter, so an empty problem list means something.
    const aggregated = new Set(uses.filter((u) => u.aggregated).map((u) => `${u.family}:${u.field}`));
    for (const f of ['events:tuskguard.key_id', 'events:http.response.status_code', 'events:mastodon.route', 'events:source.network', 'events:source.as.number', 'events:source.geo.country_iso_code', 'events:tuskguard.fingerprint', 'findings:rule', 'findings:severity', 'findings:key', 'findings:at', 'actions:action', 'actions:outcome']) {
      expect(aggregated, f).toContain(f);
    }
  });

  it('writes every query in Lucene, whose Elasticsearch equivalent is a query_string query', () => {
    expect(checkQueryLanguage(text)).toEqual([]);
  });

  it('points each data view at the store\'s wildcard for its family, with the store\'s time field', () => {
    const layout = new IndexLayout(prefix, 'day');
    const families = dataViewFamilies(objects, prefix);
    expect([...families.values()].sort()).toEqual([...FAMILIES].sort());
    const templates = indexTemplates(layout);
    for (const [id, family] of families) {
      const view = byId(objects, id);
      expect(templates.find((t) => t.name === layout.templateName(family))?.index_patterns).toEqual([view.attributes.title]);
      expect(view.attributes.timeFieldName).toBe(family === 'findings' ? 'at' : '@timestamp');
      expect(installedFields()[family].get(String(view.attributes.timeFieldName))?.type).toBe('date');
    }
  });

  it('matches the index names the store writes, daily or monthly, and no other family\'s', () => {
    const t = Date.parse('2026-11-02T14:03:05.123Z');
    const views = [...dataViewFamilies(objects, prefix)].map(([id, family]) => ({ family, re: patternRegExp(String(byId(objects, id).attributes.title)) }));
    for (const period of ['day', 'month'] as const) {
      const layout = new IndexLayout(prefix, period);
      for (const family of FAMILIES) {
        const index = layout.indexFor(family, t);
        expect(views.filter((v) => v.re.test(index)).map((v) => v.family), index).toEqual([family]);
      }
    }
    // The alias every index joins is not matched too (that would count documents twice).
    expect(views.some((v) => v.re.test(new IndexLayout(prefix, 'day').alias(v.family)))).toBe(false);
  });
});

describe('the checks catch planted mistakes', () => {
  it('a line that is not JSON, by line number', () => {
    const lines = text.split('\n');
    lines[4] = lines[4]!.slice(0, -1);
    expect(() => parseNdjson(lines.join('\n'))).toThrow(/line 5: not JSON/);
  });

  it('an unknown type, a duplicate id and a migration version newer than 8.14', () => {
    const list = copy();
    list[0]!.type = 'canvas-workpad';
    list[2]!.id = list[1]!.id;
    list[3]!.typeMigrationVersion = '10.5.0';
    const problems = checkEnvelope(list);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/unknown saved-object type/), expect.stringMatching(/duplicate id/), expect.stringMatching(/10\.5\.0 is newer/)]));
  });

  it('a dangling reference and a panel without its reference', () => {
    const list = copy().filter((o) => o.id !== 'tuskguard-lens-status-mix');
    const board = byId(list, 'tuskguard-dashboard-findings');
    board.references = board.references.slice(1);
    const problems = problemsOf(list);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/reference p\d+:panel_p\d+ → lens\/tuskguard-lens-status-mix is not in the file/),
      expect.stringMatching(/dashboard\/tuskguard-dashboard-findings: no reference named p1:panel_p1/),
    ]));
  });

  it('aggregating a text field, and naming a field no template maps', () => {
    const list = copy();
    const rules = byId(list, 'tuskguard-lens-findings-rules');
    const layer = Object.values((rules.attributes.state as { datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, { sourceField: string }> }> } } }).datasourceStates.formBased.layers)[0]!;
    layer.columns.rule!.sourceField = 'summary';
    const search = byId(list, 'tuskguard-search-requests');
    (search.attributes.columns as string[]).push('source.geo.region_name');
    expect(problemsOf(list)).toEqual([
      'search/tuskguard-search-requests: columns uses source.geo.region_name, which the events template does not map',
      'lens/tuskguard-lens-findings-rules: layer main column rule (terms) aggregates summary, a text field',
    ]);
  });

  it('a query on an unmapped field, and a data view over the wrong indices', () => {
    const list = copy();
    const search = byId(list, 'tuskguard-search-auth-failures');
    const meta = search.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string };
    meta.searchSourceJSON = meta.searchSourceJSON.replace('http.response.status_code', 'http.status');
    byId(list, 'tuskguard-actions').attributes.title = 'tuskguard-audit-*';
    const problems = problemsOf(list);
    expect(problems).toContain('search/tuskguard-search-auth-failures: query uses http.status, which the events template does not map');
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^index-pattern\/tuskguard-actions: reads no data view/), expect.stringMatching(/^lens\/tuskguard-lens-breaker: reads no data view/)]));
  });

  it('overlapping panels', () => {
    const list = copy();
    const board = byId(list, 'tuskguard-dashboard-actions');
    const ps = panels(board);
    ps[1]!.gridData.x = 4;
    board.attributes.panelsJSON = JSON.stringify(ps);
    expect(checkDashboards(list)).toEqual(['dashboard/tuskguard-dashboard-actions: panels p1 and p2 overlap']);
  });
});
