import { describe, expect, it } from 'vitest';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { findCandidates, lineStarts, looksRandom } from '../../../src/keys/scan/candidates.js';
import { classifyContext } from '../../../src/keys/scan/context.js';
import { createTextScanner } from '../../../src/keys/scan/text.js';
import { fakeToken } from '../helpers.js';

const PEPPER = 'scan-test-pepper-0123456789';

/** A token guaranteed to pass the randomness filter (random ones fail it ~0.1% of the time). */
function randomLooking(): string {
  for (;;) {
    const t = fakeToken();
    if (looksRandom(t)) return t;
  }
}

function classify(text: string) {
  const starts = lineStarts(text);
  const [c] = findCandidates(text, starts);
  if (!c) throw new Error('no candidate');
  return classifyContext(text, starts, c);
}

describe('findCandidates', () => {
  it('finds 43-character base64url runs with their line and column, bounded on both sides', () => {
    const t = randomLooking();
    const text = `first line\n  token: "${t}"\nx${t}\n${t}y ${t}-\n${t}`;
    const found = findCandidates(text);
    expect(found.map((c) => [c.line, c.column])).toEqual([[2, 11], [5, 1]]);
    expect(found.every((c) => c.value === t)).toBe(true);
  });

  it('ignores 42- and 44-character runs', () => {
    expect(findCandidates(`${'A1b'.repeat(14)} ${'A1b'.repeat(14)}xy`)).toEqual([]);
  });

  it('stays linear on a hostile 10 kB line', () => {
    const hostile = `${'a-'.repeat(5_000)}${'='.repeat(100)}${'Ab1_'.repeat(2_500)}`;
    const started = process.hrtime.bigint();
    findCandidates(hostile);
    classifyContext(hostile, lineStarts(hostile), { value: 'x'.repeat(43), index: 9_000, line: 1, column: 9_001 });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });
});

describe('classifyContext', () => {
  it.each([
    ['a Mastodon-named variable', (t: string) => `MASTODON_ACCESS_TOKEN=${t}`, 'high'],
    ['a Bearer header next to an instance API URL', (t: string) => `curl -H "Authorization: Bearer ${t}" https://social.example/api/v1/statuses`, 'high'],
    ['a bare Bearer header', (t: string) => `Authorization: Bearer ${t}`, 'medium'],
    ['access_token with an instance URL nearby', (t: string) => `instance: https://social.example\naccess_token: ${t}`, 'medium'],
    ['a generic access_token', (t: string) => `access_token: ${t}`, 'low'],
    ['a generic name and nothing else', (t: string) => `checksum = ${t}`, null],
    ['an unnamed value', (t: string) => `${t}`, null],
  ])('rates %s', (_, make, expected) => {
    expect(classify(make(randomLooking())).confidence).toBe(expected);
  });

  it('stays linear on hostile 10 kB lines aimed at the URL and assignment patterns', () => {
    const t = randomLooking();
    const hostiles = [
      `${'https://a.'.repeat(1_000)} x=${t}`,
      `${'a_.-'.repeat(2_500)}= ${t}`,
      `${'Bearer '.repeat(1_400)}${t}`,
      `${'/api/v1/'.repeat(1_250)}${t}`,
    ];
    for (const h of hostiles) {
      const started = process.hrtime.bigint();
      classify(h);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
    }
  });

  it('extracts the instance, preferring a URL followed by an API path', () => {
    const v = classify(`docs: https://docs.example/x\nbase: https://Social.Example/api/v1/\ntoken: ${randomLooking()}`);
    expect(v.instance).toBe('https://social.example');
  });

  it('never echoes a random-looking "name" (it may be another secret)', () => {
    const other = `${randomLooking()}tok`;
    const v = classify(`${other}:${randomLooking()}`);
    expect(v.reasons.join(' ')).not.toContain(other);
  });
});

describe('createTextScanner', () => {
  const managedToken = fakeToken();
  const scanText = createTextScanner({
    fingerprint: createFingerprinter(PEPPER),
    managed: new Map([[fingerprint(PEPPER, managedToken), { id: 'bot-a', instance: 'https://social.example' }]]),
    minConfidence: 'low',
  });

  it('matches a managed token exactly, whatever surrounds it, and names its key', () => {
    const [hit] = scanText(`some text ${managedToken} more`, { source: 'file', path: 'a.txt' });
    expect(hit!.finding).toMatchObject({ managed: true, key_id: 'bot-a', confidence: 'exact', line: 1, column: 11, fingerprint: fingerprint(PEPPER, managedToken) });
  });

  it('reports unmanaged tokens with a confidence and null key id, and drops those below the floor', () => {
    const t = randomLooking();
    const [hit] = scanText(`MASTODON_TOKEN=${t}`, { source: 'env', path: 'env:MASTODON_TOKEN' });
    expect(hit!.finding).toMatchObject({ managed: false, key_id: null, confidence: 'high' });
    const strict = createTextScanner({ fingerprint: createFingerprinter(PEPPER), managed: new Map(), minConfidence: 'medium' });
    expect(strict(`access_token: ${t}`, { source: 'file', path: 'x' })).toEqual([]);
  });

  it('findings never contain the token or any 8-character piece of it', () => {
    const t = randomLooking();
    const hits = scanText(`MASTODON_ACCESS_TOKEN=${t}\nx ${managedToken}`, { source: 'file', path: 'f' });
    expect(hits).toHaveLength(2);
    const json = JSON.stringify(hits.map((h) => h.finding));
    for (const secret of [t, managedToken]) {
      for (let i = 0; i + 8 <= secret.length; i++) expect(json).not.toContain(secret.slice(i, i + 8));
    }
  });
});
