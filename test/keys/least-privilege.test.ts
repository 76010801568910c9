import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { minimalScopeCover, reviewKeys, scopeBreadth, type ReviewedKey } from '../../src/keys/least-privilege.js';
import { isParentScope, KNOWN_SCOPES } from '../../src/keys/scopes.js';
import type { RouteUsage } from '../../src/store/types.js';
import { rng as mulberry32 } from '../../bench/traffic/random.js';

interface Entry {
  method: string;
  path: string;
  scopes: string[];
}
const TABLE = JSON.parse(readFileSync(new URL('../../data/mastodon/endpoint-scopes.json', import.meta.url), 'utf8')) as Entry[];
const BREADTH = scopeBreadth(TABLE);
const route = (method: string, path: string) => {
  const e = TABLE.find((x) => x.method === method && x.path === path);
  if (!e) throw new Error(`not in table: ${method} ${path}`);
  return e;
};

const NOW = new Date('2026-11-30T00:00:00Z');
const FP = 'a'.repeat(32);
const key = (scopes: string[], over: Partial<ReviewedKey> = {}): ReviewedKey => ({ id: 'bot', fingerprint: FP, kind: 'user', scopes, status: 'active', ...over });
const usage = (e: Entry | null, count = 1, lastSeen = '2026-11-29T12:00:00.000Z'): RouteUsage => ({
  fingerprint: FP,
  keyId: 'bot',
  route: e ? `${e.method} ${e.path}` : null,
  requiredScopes: e ? e.scopes : [],
  count,
  firstSeen: '2026-11-01T00:00:00.000Z',
  lastSeen,
});

describe('the real endpoint table', () => {
  it('uses only configured scopes, so the review and the import schema agree', () => {
    const used = new Set(TABLE.flatMap((e) => e.scopes));
    for (const s of used) expect(KNOWN_SCOPES.has(s), s).toBe(true);
    expect(KNOWN_SCOPES.size).toBe(47);
  });
});

describe('minimalScopeCover', () => {
  it.each([
    ['child scopes over the parent', [['read', 'read:statuses'], ['read', 'read:accounts']], ['read:accounts', 'read:statuses']],
    ['the granular write:follows over legacy follow', [['follow', 'write', 'write:follows']], ['write:follows']],
    ['profile when only verify_credentials-like routes were called', [['profile', 'read', 'read:accounts']], ['profile']],
    ['read:accounts alone when it also covers the profile route', [['profile', 'read', 'read:accounts'], ['read', 'read:accounts']], ['read:accounts']],
    ['a parent only when no granular scope satisfies a request, and then nothing it already covers', [['read'], ['read', 'read:statuses'], ['write', 'write:media']], ['read', 'write:media']],
    ['nothing for routes without a scope check', [[]], []],
  ])('prefers %s', (_, lists, expected) => {
    expect(minimalScopeCover(lists, BREADTH)).toEqual(expected);
  });
});

describe('recommended scopes cover every observed request (property, over random samples of the real table)', () => {
  const allowedFor = (lists: string[][]) => {
    const forced = new Set(lists.filter((l) => l.length > 0 && l.every(isParentScope)).flat());
    return [...new Set(lists.flat())].filter((s) => !isParentScope(s) || forced.has(s));
  };
  const covers = (set: Set<string>, lists: string[][]) => lists.every((l) => l.length === 0 || l.some((s) => set.has(s)));

  it('holds for 1,000 random samples: covering, irredundant, granular unless forced, and minimum', () => {
    for (let seed = 1; seed <= 1_000; seed++) {
      const rnd = mulberry32(seed);
      const n = 1 + Math.floor(rnd() * 25);
      const lists = Array.from({ length: n }, () => TABLE[Math.floor(rnd() * TABLE.length)]!.scopes);
      const rec = minimalScopeCover(lists, BREADTH);
      const set = new Set(rec);
      const ctx = `seed ${seed}: ${JSON.stringify(lists)} -> ${JSON.stringify(rec)}`;
      expect(covers(set, lists), ctx).toBe(true);
      for (const s of rec) {
        expect(lists.some((l) => l.includes(s)), ctx).toBe(true);
        expect(covers(new Set(rec.filter((x) => x !== s)), lists), `${ctx} (redundant ${s})`).toBe(false);
        if (isParentScope(s)) expect(lists.some((l) => l.includes(s) && l.every(isParentScope)), ctx).toBe(true);
      }
      const allowed = allowedFor(lists);
      if (allowed.length <= 14) {
        let min = Infinity;
        for (let mask = 0; mask < 1 << allowed.length; mask++) {
          const pick = allowed.filter((_, i) => mask & (1 << i));
          if (pick.length < min && covers(new Set(pick), lists)) min = pick.length;
        }
        expect(rec.length, ctx).toBe(min);
      }
    }
  });

  it('reviewKeys recommends a set that covers every usage row of every key', () => {
    const rnd = mulberry32(42);
    for (let i = 0; i < 200; i++) {
      const rows = Array.from({ length: 1 + Math.floor(rnd() * 15) }, () => usage(TABLE[Math.floor(rnd() * TABLE.length)]!, 1 + Math.floor(rnd() * 9)));
      const [review] = reviewKeys({ keys: [key(['read', 'write'])], usage: rows, now: NOW, unusedDays: 30, breadth: BREADTH });
      for (const r of rows) {
        if (r.requiredScopes.length) expect(r.requiredScopes.some((s) => review!.recommended.includes(s))).toBe(true);
      }
    }
  });
});

describe('reviewKeys', () => {
  const statuses = route('GET', '/api/v1/statuses/:id');
  const post = route('POST', '/api/v1/statuses');

  it('reports granted, used, unused and recommended scopes, and that the app registration must change', () => {
    const [r] = reviewKeys({ keys: [key(['read', 'write', 'follow'])], usage: [usage(statuses, 5), usage(post, 2)], now: NOW, unusedDays: 30, breadth: BREADTH });
    expect(r).toMatchObject({
      granted: ['follow', 'read', 'write'],
      used: ['read', 'write'],
      unused: ['follow'],
      recommended: ['read:statuses', 'write:statuses'],
      requests: 7,
      outside_grant: 0,
      unused_key: false,
      app_registration_change: true,
      idle_days: 0,
    });
    expect(r!.routes.map((x) => [x.route, x.count])).toEqual([['GET /api/v1/statuses/:id', 5], ['POST /api/v1/statuses', 2]]);
    expect(r!.notes.join(' ')).toMatch(/registered with `read` cannot obtain `read:statuses`/);
  });

  it('counts requests outside the grant and requests that matched no route', () => {
    const [r] = reviewKeys({ keys: [key(['read:statuses'])], usage: [usage(statuses, 3), usage(post, 4), usage(null, 6)], now: NOW, unusedDays: 30 });
    expect(r).toMatchObject({ outside_grant: 4, unmapped_requests: 6, requests: 13, used: ['read:statuses'], unused: [], recommended: ['read:statuses', 'write:statuses'] });
    expect(r!.notes.join(' ')).toMatch(/4 request\(s\) needed a scope the key does not hold/);
    expect(r!.notes.join(' ')).toMatch(/6 request\(s\) matched no known Mastodon route/);
  });

  it('flags active keys unused for N days or never seen, but not revoked ones', () => {
    const old = usage(statuses, 1, '2026-10-01T00:00:00.000Z');
    const reviews = reviewKeys({
      keys: [key(['read'], { id: 'stale' }), key(['read'], { id: 'never', fingerprint: 'b'.repeat(32) }), key(['read'], { id: 'gone', fingerprint: 'c'.repeat(32), status: 'revoked' })],
      usage: [old],
      now: NOW,
      unusedDays: 30,
    });
    expect(reviews.map((r) => [r.id, r.unused_key, r.idle_days])).toEqual([['stale', true, 60], ['never', true, null], ['gone', false, null]]);
    expect(reviews[1]!.recommended).toEqual([]);
    expect(reviews[1]!.notes.join(' ')).toMatch(/no observed requests/);
  });

  it('takes last seen from a longer window when given', () => {
    const [r] = reviewKeys({ keys: [key(['read'])], usage: [], lastSeen: new Map([[FP, '2026-11-25T00:00:00.000Z']]), now: NOW, unusedDays: 30 });
    expect(r).toMatchObject({ last_seen: '2026-11-25T00:00:00.000Z', idle_days: 5, unused_key: false });
  });
});
