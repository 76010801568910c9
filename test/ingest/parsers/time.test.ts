import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Format } from '../../../src/config/schema.js';
import { getParser } from '../../../src/ingest/parsers/registry.js';
import { combinedTime } from '../../../src/ingest/parsers/combined/index.js';
import { mastodonTime } from '../../../src/ingest/parsers/mastodon/index.js';
import { nginxJsonTime } from '../../../src/ingest/parsers/nginx-json/index.js';
import { rng } from '../../../bench/traffic/random.js';

/**
 * ParserEntry.time is replay's quick look at a line's time (ordering only). On every line it
 * gives a time for, that time must be the one the full parse sets; on well-formed lines it must
 * give one (else replay falls back to the full parse and the quick look buys nothing).
 */
const ctx = { fingerprint: null, origin: 'file:/t' };
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/logs/${name}`, import.meta.url), 'utf8').split('\n').filter(Boolean);

function agreement(format: Format, lines: string[]) {
  const parser = getParser(format);
  let quick = 0;
  let parsed = 0;
  for (const line of lines) {
    const t = parser.time!(line);
    const e = parser.parse(line, ctx);
    if ('kind' in e) continue;
    parsed++;
    if (Number.isNaN(t)) continue;
    quick++;
    expect({ line, t }).toEqual({ line, t: Date.parse(e['@timestamp']) });
  }
  return { quick, parsed };
}

describe('quick event time (ParserEntry.time)', () => {
  it('combined: matches the parse on every line of the 10k Apache corpus and the edge cases', () => {
    const r = agreement('combined', [...fixture('apache-combined-10k.log'), ...fixture('combined-edge.log')]);
    expect(r.parsed).toBeGreaterThan(10_000);
    expect(r.quick).toBe(r.parsed);
  });

  it('mastodon and nginx-json: match the parse on the sample logs', () => {
    for (const [format, file] of [['mastodon', 'mastodon-sample.log'], ['nginx-json', 'nginx-json-sample.log']] as const) {
      const r = agreement(format, fixture(file));
      expect(r.parsed).toBeGreaterThan(3);
      expect(r.quick).toBe(r.parsed);
    }
  });

  it('nginx-json: msec wins over ts, ts is the fallback, spacing and key order do not matter', () => {
    const t = Date.parse('2026-11-02T14:03:05.123Z');
    expect(nginxJsonTime(`{"ip":"10.0.0.1","msec":${t / 1000},"ts":"2020-01-01T00:00:00+00:00"}`)).toBe(t);
    expect(nginxJsonTime(`{"msec" :  ${t / 1000} }`)).toBe(t);
    expect(nginxJsonTime('{"ts":"2026-11-02T14:03:05+00:00","ip":"10.0.0.1"}')).toBe(Date.parse('2026-11-02T14:03:05Z'));
    const line = JSON.stringify({ uri: '/x?"msec":1', msec: t / 1000 });
    expect(nginxJsonTime(line)).toBe(t);
  });

  it('says NaN (fall back to the parse) rather than guess on odd lines', () => {
    for (const line of ['', 'not json', '{"msec":"1700000000.1"}', '{"msec":null,"ts":"x"}', '{"msec":1e999}', '{"ip":"1.2.3.4"}', '{"ts":"a\\"b"}']) {
      expect(Number.isNaN(nginxJsonTime(line)), line).toBe(true);
    }
    for (const line of ['', '1.2.3.4 - - 17/May/2015:10:05:03 +0000 "GET / HTTP/1.1" 200 1', '1.2.3.4 - [17/May/2015:10:05:03 +0000] "GET /"', 'a b c [garbage]']) {
      expect(Number.isNaN(combinedTime(line)), line).toBe(true);
    }
    for (const line of ['', 'I, [2026-13-40T99:00:00.000000 #1]  INFO -- : x', 'hello']) {
      expect(Number.isNaN(mastodonTime(line)), line).toBe(true);
    }
  });

  it('nginx-json: random well-formed lines agree with the parse (1,000 samples)', () => {
    const r = rng(7);
    const lines = Array.from({ length: 1_000 }, () => {
      const ms = Math.floor(1.7e12 + r() * 1e11);
      const o: Record<string, unknown> = { ip: '10.0.0.1', method: 'GET', uri: `/api/v1/x?"msec":${r()}`, status: 200 };
      if (r() < 0.7) o.msec = ms / 1000;
      else o.ts = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
      const keys = Object.keys(o).sort(() => r() - 0.5);
      return JSON.stringify(Object.fromEntries(keys.map((k) => [k, o[k]])), null, r() < 0.2 ? 1 : undefined).replaceAll('\n', '');
    });
    const res = agreement('nginx-json', lines);
    expect(res.parsed).toBe(1_000);
    expect(res.quick).toBe(1_000);
  });
});
