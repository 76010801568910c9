import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { scheduleRetention, startService, writeSizing } from '../src/main.js';
import type { EventStore } from '../src/store/types.js';

describe('startService', () => {
  it('wires config → store → pipeline → sources → API and shuts down cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-main-'));
    const log = join(dir, 'access.log');
    writeFileSync(join(dir, 'tuskguard.yaml'), [
      `home: ${join(dir, 'home')}`,
      'api: { port: 0 }',
      'sources:',
      `  - { type: file-tail, id: edge, format: combined, paths: [${log}], poll_interval: 50ms }`,
      '  - { type: http-push, id: push, format: combined, path: /push, token_env: MAIN_TEST_TOKEN }',
    ].join('\n'));
    writeFileSync(log, '203.0.113.9 - - [02/Nov/2026:14:03:05 +0000] "GET /api/v1/timelines/home HTTP/1.1" 200 512 "-" "Tusky/25.2"\n');
    const seen: string[] = [];
    const service = await startService({
      loaded: loadConfig(join(dir, 'tuskguard.yaml')),
      logger: silentLogger,
      metrics: new Metrics(),
      env: { MAIN_TEST_TOKEN: 'main-test-token-123456' },
      listeners: [(events) => void seen.push(...events.map((e) => e['event.id']))],
    });
    try {
      const push = await fetch(`${service.url}/push`, {
        method: 'POST',
        body: '198.51.100.1 - - [02/Nov/2026:14:03:06 +0000] "GET /api/v1/notifications HTTP/1.1" 200 10 "-" "Ivory/2.0"\n',
        headers: { authorization: 'Bearer main-test-token-123456' },
      });
      expect(await push.json()).toEqual({ accepted: 1, rejected: 0 });
      for (let i = 0; i < 100 && (await service.store.countEvents({})) < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const events = await service.store.searchEvents({});
      expect(events.map((e) => e['url.path']).sort()).toEqual(['/api/v1/notifications', '/api/v1/timelines/home']);
      expect(seen.sort()).toEqual(events.map((e) => e['event.id']).sort()); // the detection hook saw each stored event
      expect(events.find((e) => e['url.path'] === '/api/v1/timelines/home')?.['mastodon.route']).toMatch(/timelines\/home/);
      const health = await (await fetch(`${service.url}/healthz`)).json();
      expect(health).toMatchObject({ ok: true, sources: [{ id: 'edge', running: true }, { id: 'push', running: true }] });
    } finally {
      await service.close();
    }
    expect(service.sources.every((s) => !s.source.running)).toBe(true);
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });
});

describe('retention job', () => {
  it('calls applyRetention on its schedule, and survives a failure', async () => {
    const calls: Date[] = [];
    let fail = true;
    const store = {
      applyRetention: async (now: Date) => {
        calls.push(now);
        if (fail) throw new Error('disk I/O error');
        return { deleted: 3 };
      },
    } as unknown as EventStore;
    const metrics = new Metrics();
    const task = scheduleRetention(store, silentLogger, metrics);
    try {
      expect(task.getPattern()).toBe('7 * * * *');
      await task.execute();
      fail = false;
      await task.execute();
      expect(calls).toHaveLength(2);
      expect(await metrics.value('tuskguard_errors_total', { component: 'retention' })).toBe(1);
    } finally {
      await task.destroy();
    }
  });
});

describe('writeSizing', () => {
  it('feeds Elasticsearch whole bulks, one more than its bulk slots, and SQLite one batch at a time', () => {
    const es = validateConfig({ store: { type: 'elasticsearch', elasticsearch: { url: 'http://127.0.0.1:9200', bulk: { max_docs: 3_000, concurrency: 4 } } } });
    expect(writeSizing(es)).toEqual({ batchSize: 3_000, writeConcurrency: 5 });
    const esDefaults = validateConfig({ store: { type: 'elasticsearch', elasticsearch: { url: 'http://127.0.0.1:9200' } } });
    expect(writeSizing(esDefaults)).toEqual({ batchSize: 2_000, writeConcurrency: 3 });
    expect(writeSizing(validateConfig({}))).toEqual({ batchSize: 1_000, writeConcurrency: 2 });
  });
});
