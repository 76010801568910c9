import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isTuskguardError } from '../../src/core/errors.js';
import type { Event } from '../../src/core/event.js';
import { Metrics } from '../../src/core/metrics.js';
import type { EventStore } from '../../src/store/types.js';
import { DAY, FP_A, FP_B, FP_UNKNOWN, NOW, action, at, event, finding } from './fixtures.js';

/**
 * How the suite reaches one implementation. `open(key)` returns an initialised store with a
 * 30-day retention over the storage named `key`: a new key is empty, the same key again sees
 * what an earlier store wrote (that is how "close flushes" is checked).
 */
export interface ConformanceTarget {
  open(key: string, metrics: Metrics): Promise<EventStore>;
  /** Removes what `key` stored (indices, files); called once per key after each test. */
  drop?(key: string): Promise<void>;
}

/** The one behaviour every EventStore must show. Call inside a test file, once per implementation. */
export function defineStoreConformance(name: string, target: ConformanceTarget): void {
  describe(`EventStore conformance: ${name}`, () => {
    const opened: EventStore[] = [];
    const keys: string[] = [];
    let metrics: Metrics;

    async function fresh(key = `c${randomUUID().slice(0, 8)}`): Promise<EventStore> {
      metrics = new Metrics();
      if (!keys.includes(key)) keys.push(key);
      const store = await target.open(key, metrics);
      opened.push(store);
      return store;
    }

    async function written(store: EventStore, events: Event[]): Promise<void> {
      const result = await store.writeEvents(events);
      expect(result).toEqual({ written: events.length, failed: [] });
      await store.refresh();
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      for (const key of keys.splice(0)) await target.drop?.(key);
    });

    it('writes idempotently by event.id: the same events twice are stored once, the last copy wins', async () => {
      const store = await fresh();
      const events = [event(1), event(2), event(3)];
      await written(store, events);
      await written(store, [...events.slice(0, 2), event(3, { 'url.path': '/api/v1/accounts/9' })]);
      expect(await store.countEvents({})).toBe(3);
      const third = await store.searchEvents({ requestId: 'req-3' });
      expect(third.map((e) => e['url.path'])).toEqual(['/api/v1/accounts/9']);
      expect(await metrics.value('tuskguard_events_written_total', { store: store.kind, kind: 'events' })).toBe(6);
    });

    it('treats from as inclusive and to as exclusive, whatever the ISO 8601 spelling', async () => {
      const store = await fresh();
      const t = NOW.getTime() - 3 * DAY;
      const stamps = [t - 1, t, t + 1, t + 3_600_000, t + DAY, t + DAY + 1];
      await written(store, stamps.map((ms, i) => event(i, { '@timestamp': new Date(ms).toISOString() })));
      const from = new Date(t).toISOString();
      const to = new Date(t + DAY).toISOString().replace('.000Z', '+00:00');
      const hits = await store.searchEvents({ from, to });
      expect(hits.map((e) => Date.parse(e['@timestamp']))).toEqual([t, t + 1, t + 3_600_000]);
      expect(await store.countEvents({ from, to })).toBe(3);
      expect(await store.countEvents({ from })).toBe(5);
      expect(await store.countEvents({ to })).toBe(4);
    });

    it('orders by @timestamp then event.id, ascending by default, and limits after ordering', async () => {
      const store = await fresh();
      const same = at(-2 * DAY);
      const events = [event(5), event(3, { '@timestamp': same }), event(1, { '@timestamp': same }), event(2), event(4)];
      await written(store, events);
      const asc = await store.searchEvents({});
      expect(asc.map((e) => e['event.id'])).toEqual(['ev-000001', 'ev-000003', 'ev-000002', 'ev-000004', 'ev-000005']);
      const desc = await store.searchEvents({ order: 'desc', limit: 2 });
      expect(desc.map((e) => e['event.id'])).toEqual(['ev-000005', 'ev-000004']);
      expect(await store.searchEvents({ limit: 0 })).toEqual([]);
    });

    it('filters by fingerprint, key id, source ip (IPv4 and IPv6) and request id', async () => {
      const store = await fresh();
      await written(store, [
        event(1),
        event(2, { 'tuskguard.fingerprint': FP_B, 'tuskguard.key_id': 'key-other' }),
        event(3, { 'tuskguard.fingerprint': FP_UNKNOWN, 'tuskguard.key_id': null, 'source.ip': '2001:db8::1' }),
        event(4),
      ]);
      const ids = async (q: Parameters<EventStore['searchEvents']>[0]) =>
        (await store.searchEvents(q)).map((e) => e['event.id']);
      expect(await ids({ fingerprint: FP_A })).toEqual(['ev-000001', 'ev-000004']);
      expect(await ids({ keyId: 'key-other' })).toEqual(['ev-000002']);
      expect(await ids({ sourceIp: '2001:db8::1' })).toEqual(['ev-000003']);
      expect(await ids({ requestId: 'req-4' })).toEqual(['ev-000004']);
      expect(await ids({ fingerprint: FP_A, requestId: 'req-2' })).toEqual([]);
      expect(await store.countEvents({ fingerprint: FP_UNKNOWN })).toBe(1);
    });

    it('round-trips findings and filters them by rule, key, fingerprint and time', async () => {
      const store = await fresh();
      const findings = [finding(1), finding(2, { rule: 'token-burst', key: null, fingerprint: FP_B }), finding(3)];
      expect(await store.writeFindings(findings)).toEqual({ written: 3, failed: [] });
      expect(await store.writeFindings([findings[0]!])).toEqual({ written: 1, failed: [] });
      await store.refresh();
      expect(await store.searchFindings({})).toEqual(findings);
      expect(await store.searchFindings({ rule: 'token-burst' })).toEqual([findings[1]]);
      expect(await store.searchFindings({ key: 'key-bot' })).toEqual([findings[0], findings[2]]);
      expect(await store.searchFindings({ fingerprint: FP_B })).toEqual([findings[1]]);
      expect(await store.searchFindings({ from: findings[1]!.at, limit: 1 })).toEqual([findings[1]]);
    });

    it('round-trips action records with arbitrary fields', async () => {
      const store = await fresh();
      const actions = [action(1), action(2, { note: 'ünïcödé ✓', nested: { deep: [null, true, 1.5] } })];
      expect(await store.writeActions(actions)).toEqual({ written: 2, failed: [] });
      await store.refresh();
      expect(await store.searchActions({})).toEqual(actions);
      expect(await store.searchActions({ to: actions[1]!['@timestamp'] })).toEqual([actions[0]]);
    });

    it('aggregates route usage per fingerprint and route with counts, scopes and first/last seen', async () => {
      const store = await fresh();
      const r1 = 'GET /api/v1/statuses/:id';
      const r2 = 'POST /api/v1/statuses';
      await written(store, [
        event(1, { '@timestamp': at(-10 * DAY) }),
        event(2, { '@timestamp': at(-9 * DAY) }),
        event(3, { '@timestamp': at(-8 * DAY), 'tuskguard.key_id': null }),
        event(4, { '@timestamp': at(-7 * DAY), 'mastodon.route': r2, 'mastodon.required_scopes': ['write:statuses', 'write'] }),
        event(5, { '@timestamp': at(-7 * DAY), 'mastodon.route': undefined, 'mastodon.required_scopes': undefined }),
        event(6, { '@timestamp': at(-6 * DAY), 'tuskguard.fingerprint': FP_B, 'tuskguard.key_id': null }),
        event(7, { '@timestamp': at(-6 * DAY), 'tuskguard.fingerprint': undefined, 'tuskguard.key_id': undefined }),
        event(8, { '@timestamp': at(-40 * DAY) }),
      ]);
      const usage = await store.routeUsage({ from: at(-20 * DAY), to: at(0) });
      expect(usage).toEqual([
        { fingerprint: FP_A, keyId: 'key-bot', route: null, requiredScopes: [], count: 1, firstSeen: at(-7 * DAY), lastSeen: at(-7 * DAY) },
        { fingerprint: FP_A, keyId: 'key-bot', route: r1, requiredScopes: ['read', 'read:statuses'], count: 3, firstSeen: at(-10 * DAY), lastSeen: at(-8 * DAY) },
        { fingerprint: FP_A, keyId: 'key-bot', route: r2, requiredScopes: ['write', 'write:statuses'], count: 1, firstSeen: at(-7 * DAY), lastSeen: at(-7 * DAY) },
        { fingerprint: FP_B, keyId: null, route: r1, requiredScopes: ['read', 'read:statuses'], count: 1, firstSeen: at(-6 * DAY), lastSeen: at(-6 * DAY) },
      ]);
      const onlyB = await store.routeUsage({ fingerprints: [FP_B] });
      expect(onlyB.map((u) => [u.fingerprint, u.count])).toEqual([[FP_B, 1]]);
      expect((await store.routeUsage({})).find((u) => u.route === r1 && u.fingerprint === FP_A)?.count).toBe(4);
      expect(await store.routeUsage({ fingerprints: [] })).toEqual([]);
    });

    it('retention deletes events, findings and actions older than the retention, and nothing newer', async () => {
      const store = await fresh();
      const old = [event(1, { '@timestamp': at(-100 * DAY) }), event(2, { '@timestamp': at(-60 * DAY) })];
      const kept = [event(3, { '@timestamp': at(-29 * DAY) }), event(4, { '@timestamp': at(-1 * DAY) })];
      await written(store, [...old, ...kept]);
      await store.writeFindings([finding(1, { at: at(-90 * DAY) }), finding(2, { at: at(-2 * DAY) })]);
      await store.writeActions([action(1, { '@timestamp': at(-90 * DAY) }), action(2, { '@timestamp': at(-2 * DAY) })]);
      await store.refresh();
      expect(await store.applyRetention(NOW)).toEqual({ deleted: 4 });
      await store.refresh();
      expect((await store.searchEvents({})).map((e) => e['event.id'])).toEqual(['ev-000003', 'ev-000004']);
      expect((await store.searchFindings({})).map((f) => f.id)).toEqual(['finding-2']);
      expect((await store.searchActions({})).map((a) => a.id)).toEqual(['action-2']);
      expect(await store.applyRetention(NOW)).toEqual({ deleted: 0 });
    });

    it('close() flushes pending writes: a store opened afterwards sees them all', async () => {
      const key = `c${randomUUID().slice(0, 8)}`;
      const store = await fresh(key);
      const events = Array.from({ length: 250 }, (_, i) => event(i));
      const pending = store.writeEvents(events);
      await store.close();
      expect(await pending).toEqual({ written: 250, failed: [] });
      const again = await fresh(key);
      await again.refresh();
      expect(await again.countEvents({})).toBe(250);
    });

    it('round-trips unicode and odd values exactly', async () => {
      const store = await fresh();
      const odd = event(1, {
        'user_agent.original': `Mözilla/5.0 (Ǝ; 日本語; عربى) 🐘 "quoted" \\ back\nnew\tline ${'x'.repeat(9_000)}`,
        'url.path': '/api/v1/tags/%F0%9F%90%98',
        'url.query': 'q=\u0000\u001f&emoji=🐘',
        'source.ip': '2001:db8:85a3::8a2e:370:7334',
        'tuskguard.key_id': null,
        'mastodon.required_scopes': [],
        'event.duration': Number.MAX_SAFE_INTEGER,
        'mastodon.db_ms': 0.1,
        'http.response.body.bytes': 0,
        'source.geo.location': { lat: -33.8688, lon: 151.2093 },
      });
      await written(store, [odd]);
      expect(await store.searchEvents({})).toEqual([odd]);
    });

    it('refuses documents without a usable id or timestamp and writes the rest', async () => {
      const store = await fresh();
      const bad = event(2, { '@timestamp': 'yesterday' });
      const result = await store.writeEvents([event(1), bad, event(3, { 'event.id': '' })]);
      expect(result.written).toBe(1);
      expect(result.failed.map((f) => [f.id, f.reason])).toEqual([['ev-000002', 'invalid-timestamp'], ['', 'invalid-id']]);
      expect(await store.writeEvents([])).toEqual({ written: 0, failed: [] });
      await store.refresh();
      expect(await store.countEvents({})).toBe(1);
    });

    it('rejects an unreadable time bound, a bad limit or a non-IP address with a usage error', async () => {
      const store = await fresh();
      const code = async (p: Promise<unknown>) => {
        const error = await p.then(() => null, (e: unknown) => e);
        return isTuskguardError(error) ? error.code : error;
      };
      expect(await code(store.searchEvents({ from: 'last tuesday' }))).toBe('USAGE');
      expect(await code(store.countEvents({ to: '2026-13-45' }))).toBe('USAGE');
      expect(await code(store.searchEvents({ limit: -1 }))).toBe('USAGE');
      expect(await code(store.searchEvents({ sourceIp: '203.0.113.0/24' }))).toBe('USAGE');
      expect(await code(store.countEvents({ sourceIp: 'not-an-ip' }))).toBe('USAGE');
    });
  });
}
