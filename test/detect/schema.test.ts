import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTuskguardError } from '../../src/core/errors.js';
import { loadRules, loadRulesOrThrow } from '../../src/detect/load.js';
import { formatPath, parseRule } from '../../src/detect/schema.js';

const common = { id: 'burst', description: 'Many requests.', severity: 'medium' };
const valid = {
  id: 'burst',
  description: 'Many requests.',
  type: 'threshold',
  severity: 'medium',
  window: '5m',
  threshold: 10,
};

function issuesOf(doc: unknown) {
  const r = parseRule(doc, 'x.yaml');
  return r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('rule schema', () => {
  it('accepts a valid rule and applies defaults', () => {
    const r = parseRule(valid);
    expect(r.issues).toEqual([]);
    expect(r.rule?.group_by).toEqual(['tuskguard.fingerprint']);
    expect(r.rule?.suppressMs).toBe(300_000);
    expect(r.rule?.params).toEqual({ window: 300_000, threshold: 10 });
    expect(r.rule?.enabled).toBe(true);
  });

  it.each([
    [{ ...valid, treshold: 10 }, /^treshold: unknown key \(allowed: .*threshold/],
    [{ ...valid, type: 'thresold' }, /^type: unknown rule type "thresold" \(one of threshold, spike/],
    [{ ...valid, severity: 'urgent' }, /^severity: /],
    [{ ...valid, window: '5 minutes' }, /^window: a duration/],
    [{ ...valid, threshold: 0 }, /^threshold: /],
    [{ ...valid, group_by: ['source.ipp'] }, /^group_by\[0\]: unknown field "source.ipp"/],
    [{ ...valid, filter: { 'http.response.status_code': { equals: 'x' } } }, /^filter\["http.response.status_code"\].equals: expected a number/],
    [{ ...valid, exceptions: [{ reason: 'ops', match: { 'source.ip': { cidr: 'nope' } } }] }, /^exceptions\[0\].match\["source.ip"\].cidr: not an IP network/],
    [{ ...valid, exceptions: [{ reason: 'ops', expires: 'soon', match: { 'source.ip': '1.2.3.4' } }] }, /^exceptions\[0\].expires: /],
    [{ ...valid, exceptions: [{ reason: 'ops' }] }, /^exceptions\[0\].match: an exception needs/],
    [{ ...valid, summary: 'Key {key} did {nothing}.' }, /^summary: unknown placeholder \{nothing\}/],
    [{ ...valid, labels: { Tactic: 'TA0001' } }, /^labels.Tactic: /],
    [{ ...common, type: 'spike', window: '1h', reference: '10m', factor: 3, min_count: 5 }, /^reference: reference must be at least/],
    [{ ...valid, type: 'cardinality', threshold: 5, field: 'nope' }, /^field: unknown field/],
    [{ ...common, type: 'baseline', interval: '7m' }, /^interval: interval must be at least 1m and divide one day/],
    [{ ...common, type: 'ratio', window: '5m', min_ratio: 0.5, min_count: 3, match: { nope: 1 } }, /^match.nope: unknown field/],
    [[1, 2], /^\(root\): a rule file must hold one mapping/],
  ])('rejects %j naming the path', (doc, message) => {
    const issues = issuesOf(doc);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.join('\n')).toMatch(message);
  });

  it('formats paths with dotted field names quoted', () => {
    expect(formatPath(['filter', 'any', 0, 'url.path', 'prefix'])).toBe('filter.any[0]["url.path"].prefix');
    expect(formatPath([])).toBe('(root)');
  });
});

describe('loading rule files', () => {
  function dir(files: Record<string, string>): string {
    const d = mkdtempSync(join(tmpdir(), 'tg-rules-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return d;
  }

  it('names the file and path of every problem, in every file', () => {
    const d = dir({
      'good.yaml': 'id: good\ndescription: ok\ntype: threshold\nseverity: low\nwindow: 1m\nthreshold: 3\n',
      'bad-id.yaml': 'id: other\ndescription: ok\ntype: threshold\nseverity: low\nwindow: 1m\nthreshold: 3\n',
      'broken.yml': 'id: broken\n  description: : :\n',
      'dup.yaml': 'id: dup\nid: dup\n',
      'notes.txt': 'ignored',
    });
    const r = loadRules(d);
    expect(r.rules.map((x) => x.id)).toEqual(['good']);
    const text = r.issues.map((i) => `${i.file.split('/').pop()}: ${i.path}: ${i.message}`);
    expect(text.some((t) => t.startsWith('bad-id.yaml: id: id "other" must equal the file name "bad-id"'))).toBe(true);
    expect(text.some((t) => t.startsWith('broken.yml: (yaml): '))).toBe(true);
    expect(text.some((t) => t.startsWith('dup.yaml: (yaml): ') && /unique/i.test(t))).toBe(true);
  });

  it('warns about expired exceptions but still loads the rule', () => {
    const d = dir({
      'old.yaml': [
        'id: old',
        'description: ok',
        'type: threshold',
        'severity: low',
        'window: 1m',
        'threshold: 3',
        'exceptions:',
        '  - reason: migration',
        '    expires: 2020-01-01',
        '    match: { source.ip: { cidr: 10.0.0.0/8 } }',
      ].join('\n'),
    });
    const r = loadRules(d);
    expect(r.issues).toEqual([]);
    expect(r.rules).toHaveLength(1);
    expect(r.warnings[0]?.message).toMatch(/expired/);
    expect(r.rules[0]!.exceptions[0]!.expires).toBe(Date.parse('2020-01-01T00:00:00Z'));
  });

  it('refuses to run invalid rules with a coded error and a hint', () => {
    const d = dir({ 'x.yaml': 'id: x\ntype: nope\n' });
    try {
      loadRulesOrThrow(d);
      expect.unreachable();
    } catch (e) {
      expect(isTuskguardError(e) && e.code).toBe('RULE_INVALID');
      expect((e as Error).message).toMatch(/x\.yaml: type: unknown rule type/);
    }
  });

  it('stops a YAML alias bomb', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]'];
    const r = loadRules(dir({ 'bomb.yaml': bomb.join('\n') }));
    expect(r.rules).toEqual([]);
    expect(r.issues[0]?.path).toBe('(yaml)');
  });
});
