import { describe, expect, it } from 'vitest';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { firstForwardedFor, isoFromMs, parseLoggerTime, parseTimeLocal, scrubQuery, splitUri } from '../../../src/ingest/parsers/common.js';

const PEPPER = 'test-pepper-0123456789abcdef';
const TOKEN = 'Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLTEyMzQ1Njc4';
const ctx = { fingerprint: createFingerprinter(PEPPER), origin: 'test' };

describe('parseTimeLocal', () => {
  it.each([
    ['17/May/2015:10:05:03 +0000', '2015-05-17T10:05:03.000Z'],
    ['17/May/2015:12:05:03 +0200', '2015-05-17T10:05:03.000Z'],
    ['31/Dec/2025:23:30:00 -0130', '2026-01-01T01:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(new Date(parseTimeLocal(text)).toISOString()).toBe(iso);
  });

  it.each(['17/Foo/2015:10:05:03 +0000', '17/May/2015:10:05:03', '17/May/2015 10:05:03 +0000', '1x/May/2015:10:05:03 +0000', ''])(
    'rejects %j',
    (text) => expect(parseTimeLocal(text)).toBeNaN(),
  );
});

describe('scrubQuery', () => {
  it('fingerprints and redacts an access_token, keeping the other parameters', () => {
    const out = scrubQuery(`stream=user&access_token=${TOKEN}&x=1`, ctx);
    expect(out.query).toBe('stream=user&access_token=[REDACTED]&x=1');
    expect(out.fingerprint).toBe(fingerprint(PEPPER, TOKEN));
  });

  it('redacts without a fingerprinter and leaves token-free queries alone', () => {
    expect(scrubQuery(`access_token=${TOKEN}`, { fingerprint: null, origin: '' })).toEqual({
      query: 'access_token=[REDACTED]',
      fingerprint: undefined,
    });
    expect(scrubQuery('limit=40', ctx)).toEqual({ query: 'limit=40', fingerprint: undefined });
  });

  it('does not fingerprint an already redacted value', () => {
    expect(scrubQuery('access_token=[REDACTED]', ctx).fingerprint).toBeUndefined();
  });

  it('survives a 10 kB hostile query (token regex is linear)', () => {
    const hostile = '&access_token='.repeat(400) + 'access_token'.repeat(400);
    const out = scrubQuery(hostile, ctx);
    expect(out.query).not.toContain(TOKEN);
  }, 1_000);
});

describe('splitUri / firstForwardedFor', () => {
  it('splits path and query', () => {
    expect(splitUri('/a/b?x=1&y')).toEqual({ path: '/a/b', query: 'x=1&y' });
    expect(splitUri('/a')).toEqual({ path: '/a', query: undefined });
    expect(splitUri('/a?')).toEqual({ path: '/a', query: '' });
  });

  it.each([
    ['198.51.100.4, 10.0.0.1', '198.51.100.4'],
    ['2001:db8::1', '2001:db8::1'],
    ['unknown, 10.0.0.1', undefined],
    ['', undefined],
    ['-', undefined],
  ])('xff %j → %j', (xff, ip) => expect(firstForwardedFor(xff)).toBe(ip));
});

describe('isoFromMs', () => {
  it('formats exactly like Date#toISOString, whatever order times come in', () => {
    const times = [
      1_793_628_185_123, 1_793_628_185_999, 1_793_628_186_000, 1_793_628_125_001, 1_793_628_185_123.7,
      0, -1, 86_399_999, 951_782_400_000 /* 2000-02-29 */, 253_402_300_799_999, -62_167_219_200_000,
      1_793_628_179_999, 1_793_628_180_000, 1_431_857_103_000,
    ];
    for (const ms of [...times, ...[...times].reverse()]) {
      expect(isoFromMs(ms)).toBe(new Date(Math.floor(ms)).toISOString());
    }
    for (let i = 0; i < 2_000; i++) {
      const ms = Math.floor(Math.random() * 4e12);
      expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('falls back to the extended form beyond year 9999 and rejects non-finite times', () => {
    expect(isoFromMs(253_402_300_800_000)).toBe('+010000-01-01T00:00:00.000Z');
    expect(isoFromMs(Number.NaN)).toBeUndefined();
    expect(isoFromMs(9e15)).toBeUndefined();
  });
});

describe('parseLoggerTime', () => {
  it.each([
    ['2026-11-02T14:03:05.123456', '2026-11-02T14:03:05.123Z'],
    ['2026-11-02T14:03:05.1', '2026-11-02T14:03:05.100Z'],
    ['2026-11-02T14:03:05.12', '2026-11-02T14:03:05.120Z'],
    ['2026-11-02T14:03:05', '2026-11-02T14:03:05.000Z'],
    ['2024-02-29T23:59:59.999999999', '2024-02-29T23:59:59.999Z'],
  ])('%s → %s (read as UTC)', (text, iso) => expect(new Date(parseLoggerTime(text)).toISOString()).toBe(iso));

  it.each(['2026-13-02T14:03:05', '2026-11-00T14:03:05', '2026-11-02T24:03:05', '2026-11-02T14:60:05', '2026-11-02T14:03:61'])(
    'rejects %s',
    (text) => expect(parseLoggerTime(text)).toBeNaN(),
  );
});
