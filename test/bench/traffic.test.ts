import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK_RULES, generateTraffic, type Traffic } from '../../bench/traffic/generate.js';
import { DAY, localHour } from '../../bench/traffic/model.js';
import { writeTraffic } from '../../bench/traffic/render.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import { isParseError } from '../../src/core/event.js';
import { loadRules } from '../../src/detect/load.js';
import { createEnricher } from '../../src/ingest/enrich/index.js';
import { getParser } from '../../src/ingest/parsers/registry.js';
import { readInventoryFile } from '../../src/keys/import-file.js';

const PEPPER = 'test-traffic-pepper-0123456789';
const PACK = loadRules('rules/detections').rules.map((r) => r.id);

describe('bench/traffic generator', () => {
  let t: Traffic;
  let dir: string;
  let paths: Record<string, string>;

  beforeAll(async () => {
    t = generateTraffic({ seed: 7, pepper: PEPPER, size: 'small', packRules: PACK });
    dir = mkdtempSync(join(tmpdir(), 'tg-traffic-'));
    paths = await writeTraffic(dir, t);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is deterministic by seed, and another seed gives another week', () => {
    const again = generateTraffic({ seed: 7, pepper: PEPPER, size: 'small', packRules: PACK });
    expect(again.labels).toEqual(t.labels);
    expect(again.week.slice(0, 2_000)).toEqual(t.week.slice(0, 2_000));
    const other = generateTraffic({ seed: 8, pepper: PEPPER, size: 'small', packRules: PACK });
    expect(other.labels.attacks.map((a) => a.start)).not.toEqual(t.labels.attacks.map((a) => a.start));
  });

  it('injects one attack for every rule of the pack, on days 1-6 of the week, each on its own key', () => {
    expect(t.labels.uncovered).toEqual([]);
    expect(t.labels.attacks.map((a) => a.rule).sort()).toEqual([...PACK].sort());
    expect([...ATTACK_RULES].sort()).toEqual([...PACK].sort());
    const week = Date.parse(t.labels.week.from);
    for (const a of t.labels.attacks) {
      expect(Date.parse(a.start)).toBeGreaterThanOrEqual(week + DAY);
      expect(Date.parse(a.end)).toBeLessThan(Date.parse(t.labels.week.to));
      expect(a.key !== null || a.group !== null).toBe(true);
    }
    const keys = t.labels.attacks.flatMap((a) => (a.key ? [a.key] : []));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('puts the hard negatives on keys no attack touches', () => {
    const attacked = new Set(t.labels.attacks.map((a) => a.key));
    expect(t.labels.negatives.map((n) => n.kind).sort()).toEqual(['client-upgrade', 'planned-growth', 'server-move']);
    for (const n of t.labels.negatives) expect(attacked.has(n.key)).toBe(false);
  });

  it('writes real fingerprints: HMAC of each managed token under the pepper, matching keys.yaml', () => {
    const items = readInventoryFile(paths.keys!);
    expect(items.length).toBe(t.keys.filter((k) => k.managed).length);
    const fps = new Set(t.week.map((q) => q.fp));
    for (const item of items) {
      const fp = fingerprint(PEPPER, item.token);
      expect(t.labels.keys.find((k) => k.id === item.id)?.fingerprint).toBe(fp);
      if (item.id !== t.labels.attacks.find((a) => a.rule === 'revoked-key-use')?.key) expect(fps.has(fp)).toBe(true);
    }
    // No token is ever in a log line: only fingerprints.
    const text = gunzipSync(readFileSync(paths.week!)).toString('utf8');
    for (const item of items) expect(text.includes(item.token)).toBe(false);
  });

  it('writes nginx-json lines the real parser and enricher accept, in time order', async () => {
    const parser = getParser('nginx-json');
    const enricher = await createEnricher({});
    const lines = gunzipSync(readFileSync(paths.week!)).toString('utf8').trimEnd().split('\n');
    expect(lines.length).toBe(t.week.length);
    let last = 0;
    for (const line of lines.slice(0, 20_000)) {
      const e = parser.parse(line, { fingerprint: null, origin: 'file:week' });
      if (isParseError(e)) throw new Error(`${e.reason}: ${e.message}`);
      const t0 = Date.parse(enricher.enrich(e)['@timestamp']);
      expect(t0).toBeGreaterThanOrEqual(last - 1_000);
      last = t0;
    }
  });

  it('keeps benign keys to their own origins and routines', () => {
    const attacked = new Set(t.labels.attacks.map((a) => a.key));
    for (const k of t.keys.filter((x) => x.managed && !attacked.has(x.id))) {
      const nets = new Set(k.origins.map((o) => o.network));
      if (k.origins.some((o) => o.role === 'carrier')) for (const o of k.origins) if (o.role === 'carrier') nets.add(o.network.replace(/\.(\d+)\.0\/24$/, (_m, c: string) => `.${Number(c) ^ 1}.0/24`));
      const seen = new Set([...t.history, ...t.week].filter((q) => q.fp === k.fp).map((q) => q.ip.replace(/\.\d+$/, '.0/24')));
      for (const n of seen) expect(nets.has(n), `${k.id} used ${n}`).toBe(true);
    }
    const office = t.keys.find((k) => k.profile === 'office-app')!;
    const hours = new Set(t.history.filter((q) => q.fp === office.fp).map((q) => localHour(q.t, office.tz)));
    for (const h of hours) expect(h >= office.p.from! && h < office.p.to!).toBe(true);
  });

  it('has background traffic without tokens and unmanaged tokens, as an instance does', () => {
    const tokenless = t.week.filter((q) => q.fp === '').length;
    expect(tokenless / t.week.length).toBeGreaterThan(0.05);
    const managed = new Set(t.keys.filter((k) => k.managed).map((k) => k.fp));
    const unmanaged = new Set(t.week.filter((q) => q.fp !== '' && !managed.has(q.fp)).map((q) => q.fp));
    expect(unmanaged.size).toBeGreaterThan(10);
  });
});
