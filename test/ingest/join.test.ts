import { describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/event.js';
import { Metrics } from '../../src/core/metrics.js';
import { RequestJoiner } from '../../src/ingest/join.js';

const RID = '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60';

function proxy(rid: string | undefined, extra: Partial<Event> = {}): Event {
  return {
    '@timestamp': '2026-11-02T14:03:05.123Z', 'event.id': `p-${rid ?? 'none'}`, 'event.dataset': 'nginx-json',
    'source.ip': '203.0.113.7', 'http.request.method': 'GET', 'url.path': '/api/v1/timelines/home',
    'url.query': 'limit=40', 'http.response.status_code': 200, 'user_agent.original': 'Tusky/25.2 Android/14',
    'tuskguard.fingerprint': '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21', 'event.duration': 84_000_000,
    ...(rid ? { 'http.request.id': rid } : {}), ...extra,
  };
}

function mastodon(rid: string, extra: Partial<Event> = {}): Event {
  return {
    '@timestamp': '2026-11-02T14:03:05.101Z', 'event.id': `p-${rid}`, 'event.dataset': 'mastodon',
    'http.request.id': rid, 'http.request.method': 'GET', 'url.path': '/api/v1/timelines/home',
    'mastodon.controller': 'Api::V1::Timelines::HomeController', 'mastodon.action': 'show',
    'http.response.status_code': 200, 'mastodon.duration_ms': 80.5, 'mastodon.db_ms': 30, 'event.duration': 80_500_000,
    ...extra,
  };
}

describe('RequestJoiner', () => {
  it('joins proxy then Mastodon into one event: proxy fields win, Mastodon adds controller/action/timings', () => {
    const j = new RequestJoiner({ waitMs: 5_000, maxPending: 10 });
    expect(j.push(proxy(RID), 1_000)).toEqual([]);
    expect(j.pending).toBe(1);
    const [joined, ...rest] = j.push(mastodon(RID), 1_010);
    expect(rest).toEqual([]);
    expect(joined).toMatchObject({
      'event.dataset': 'joined', 'event.id': `p-${RID}`, '@timestamp': '2026-11-02T14:03:05.123Z',
      'source.ip': '203.0.113.7', 'tuskguard.fingerprint': '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21',
      'user_agent.original': 'Tusky/25.2 Android/14', 'url.query': 'limit=40', 'http.response.status_code': 200,
      'event.duration': 84_000_000, 'mastodon.controller': 'Api::V1::Timelines::HomeController',
      'mastodon.action': 'show', 'mastodon.duration_ms': 80.5, 'mastodon.db_ms': 30,
    });
    expect(joined).not.toHaveProperty(['mastodon.status']);
    expect(j.pending).toBe(0);
    expect(j.stats).toMatchObject({ joined: 1, unmatched: 0 });
  });

  it('joins in the other order too, and keeps Mastodon’s differing status in mastodon.status', () => {
    const j = new RequestJoiner({ waitMs: 5_000, maxPending: 10 });
    expect(j.push(mastodon(RID, { 'http.response.status_code': 500 }), 1_000)).toEqual([]);
    const [joined] = j.push(proxy(RID, { 'http.response.status_code': 502 }), 1_200);
    expect(joined).toMatchObject({ 'event.dataset': 'joined', 'http.response.status_code': 502, 'mastodon.status': 500 });
  });

  it('takes Mastodon’s status when the proxy line has none', () => {
    const j = new RequestJoiner({ waitMs: 5_000, maxPending: 10 });
    const p = proxy(RID);
    delete p['http.response.status_code'];
    j.push(p, 0);
    expect(j.push(mastodon(RID, { 'http.response.status_code': 404 }), 1)[0]?.['http.response.status_code']).toBe(404);
  });

  it('passes events without a request id, and already joined events, straight through', () => {
    const j = new RequestJoiner({ waitMs: 5_000, maxPending: 10 });
    const lone = proxy(undefined);
    expect(j.push(lone, 0)).toEqual([lone]);
    const joined = { ...proxy(RID), 'event.dataset': 'joined' as const };
    expect(j.push(joined, 0)).toEqual([joined]);
    expect(j.pending).toBe(0);
  });

  it('releases an unmatched line as its own event once waitMs has passed', () => {
    const j = new RequestJoiner({ waitMs: 5_000, maxPending: 10 });
    j.push(proxy(RID), 1_000);
    expect(j.advance(5_999)).toEqual([]);
    expect(j.advance(6_000)).toEqual([proxy(RID)]);
    expect(j.pending).toBe(0);
    expect(j.stats.unmatched).toBe(1);
  });

  it('releases expired lines on push, oldest first, before the pushed one', () => {
    const j = new RequestJoiner({ waitMs: 100, maxPending: 10 });
    j.push(proxy('a'), 0);
    j.push(mastodon('b'), 50);
    const out = j.push(proxy('c'), 160);
    expect(out.map((e) => e['http.request.id'])).toEqual(['a', 'b']);
    expect(j.pending).toBe(1);
  });

  it('does not let time run backwards (out-of-order event times)', () => {
    const j = new RequestJoiner({ waitMs: 100, maxPending: 10 });
    j.push(proxy('a'), 1_000);
    j.push(proxy('b'), 500); // older event time: waits until 1_100 like a
    expect(j.advance(1_099)).toEqual([]);
    expect(j.advance(1_100).map((e) => e['http.request.id'])).toEqual(['a', 'b']);
  });

  it('releases the oldest lines when more than maxPending wait', () => {
    const j = new RequestJoiner({ waitMs: 60_000, maxPending: 2 });
    j.push(proxy('a'), 0);
    j.push(proxy('b'), 1);
    const out = j.push(proxy('c'), 2);
    expect(out.map((e) => e['http.request.id'])).toEqual(['a']);
    expect(j.pending).toBe(2);
    expect(j.stats.overflowed).toBe(1);
  });

  it('joins a partner that arrives after its line was released (same id: the joined document overwrites)', () => {
    const j = new RequestJoiner({ waitMs: 100, maxPending: 10, lateMs: 1_000 });
    j.push(proxy(RID), 0);
    expect(j.advance(100)).toHaveLength(1);
    const [late] = j.push(mastodon(RID), 500);
    expect(late).toMatchObject({ 'event.dataset': 'joined', 'event.id': `p-${RID}`, 'mastodon.action': 'show' });
    expect(j.stats.lateJoined).toBe(1);
    // Past lateMs the partner is forgotten and the late line waits on its own.
    j.push(proxy('x'), 600);
    j.advance(700);
    expect(j.push(mastodon('x'), 1_800)).toEqual([]);
  });

  it('releases the first of two same-side lines with one request id instead of overwriting it', () => {
    const j = new RequestJoiner({ waitMs: 1_000, maxPending: 10, lateMs: 0 });
    const first = proxy(RID, { 'source.ip': '198.51.100.1' });
    expect(j.push(first, 0)).toEqual([]);
    expect(j.push(proxy(RID), 1)).toEqual([first]);
    expect(j.pending).toBe(1);
  });

  it('never loses an event: everything pushed comes out exactly once (joined pairs count once)', () => {
    const j = new RequestJoiner({ waitMs: 30, maxPending: 5 });
    const out: Event[] = [];
    let pairs = 0;
    for (let i = 0; i < 500; i++) {
      const rid = `r${i % 170}`;
      const e = i % 3 === 0 ? mastodon(rid) : i % 7 === 0 ? proxy(undefined) : proxy(rid);
      out.push(...j.push(e, i));
    }
    out.push(...j.drain());
    pairs = out.filter((e) => e['event.dataset'] === 'joined').length;
    expect(out.length + pairs).toBe(500);
    expect(j.pending).toBe(0);
  });

  it('drain() returns every pending line and reports the pending gauge', async () => {
    const metrics = new Metrics();
    const j = new RequestJoiner({ waitMs: 60_000, maxPending: 10, metrics });
    j.push(proxy('a'), 0);
    j.push(mastodon('b'), 0);
    expect(await metrics.value('tuskguard_join_pending')).toBe(2);
    expect(j.drain().map((e) => e['http.request.id'])).toEqual(['a', 'b']);
    expect(await metrics.value('tuskguard_join_pending')).toBe(0);
    expect(j.pending).toBe(0);
  });

  it('rejects nonsensical options', () => {
    expect(() => new RequestJoiner({ waitMs: -1, maxPending: 10 })).toThrow(RangeError);
    expect(() => new RequestJoiner({ waitMs: 10, maxPending: 0 })).toThrow(RangeError);
  });
});

describe('RequestJoiner on parsed fixture lines', () => {
  it('joins the nginx-json and Mastodon lines of the same requests and keeps the rest as they are', async () => {
    const { readFileSync } = await import('node:fs');
    const { PARSERS } = await import('../../src/ingest/parsers/registry.js');
    const { isParseError } = await import('../../src/core/event.js');
    const read = (name: string, format: 'nginx-json' | 'mastodon') =>
      readFileSync(new URL(`../fixtures/logs/${name}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => PARSERS[format].parse(l, { fingerprint: null, origin: name }))
        .filter((e): e is Event => !isParseError(e));
    const all = [...read('nginx-json-sample.log', 'nginx-json'), ...read('mastodon-sample.log', 'mastodon')]
      .sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp']));
    const j = new RequestJoiner({ waitMs: 2_000, maxPending: 100 });
    const out = all.flatMap((e) => j.push(e, Date.parse(e['@timestamp']))).concat(j.drain());

    const joined = out.filter((e) => e['event.dataset'] === 'joined');
    expect(joined.map((e) => e['http.request.id']).sort()).toEqual([
      '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60', '5a2b0e8a9b2d4c6e8f0a1b2c3d4e5f61', '7c3d0e8a9b2d4c6e8f0a1b2c3d4e5f62',
    ]);
    const home = joined.find((e) => e['http.request.id'] === '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60');
    expect(home).toMatchObject({
      'tuskguard.fingerprint': '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21', 'source.ip': '203.0.113.7',
      'mastodon.controller': 'Api::V1::Timelines::HomeController', 'mastodon.duration_ms': 84.31,
    });
    // The proxy answered 502 while Mastodon logged an exception without a status.
    const failed = joined.find((e) => e['http.request.id'] === '7c3d0e8a9b2d4c6e8f0a1b2c3d4e5f62');
    expect(failed).toMatchObject({ 'http.response.status_code': 502, 'mastodon.action': 'show' });
    expect(failed).not.toHaveProperty(['mastodon.status']);
    // Ids: the joined event keeps the id both halves had.
    const proxyHome = all.find((e) => e['event.dataset'] === 'nginx-json' && e['http.request.id'] === home?.['http.request.id']);
    expect(home?.['event.id']).toBe(proxyHome?.['event.id']);
    // 5 proxy + 6 Mastodon events in, 3 pairs joined: 8 out, none lost.
    expect(out).toHaveLength(all.length - joined.length);
  });
});
