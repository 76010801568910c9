import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../src/config/load.js';
import { createFingerprinter } from '../src/core/fingerprint.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { scheduleRetention, startService, writeSizing } from '../src/main.js';
import { openKeysDb } from '../src/keys/db.js';
import { KeyInventory } from '../src/keys/inventory.js';
import { LocalKeyEncryptionKey } from '../src/keys/kms.js';
import { setKeyStatus } from '../src/keys/revocation/records.js';
import type { InventoryItem } from '../src/keys/schema.js';
import { Vault } from '../src/keys/vault.js';
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

describe('serve: the shared key inventory', () => {
  it('a key imported (and revoked) while serving is attributed by ingest and known to detection after one reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-main-keys-'));
    const home = join(dir, 'home');
    writeFileSync(join(dir, 'tuskguard.yaml'), [`home: ${home}`, 'api: { port: 0 }', 'sources:', '  - { type: http-push, id: push, format: nginx-json, path: /push, token_env: MAIN_TEST_TOKEN }'].join('\n'));
    const pepper = `pepper-${randomBytes(16).toString('hex')}`;
    const token = `tok-${randomBytes(20).toString('hex')}`;
    const fp = createFingerprinter(pepper)(token);
    const reloadMs = 100;
    const metrics = new Metrics();
    const service = await startService({
      loaded: loadConfig(join(dir, 'tuskguard.yaml')), logger: silentLogger, metrics, keyReloadMs: reloadMs,
      env: { MAIN_TEST_TOKEN: 'main-test-token-123456', TUSKGUARD_PEPPER: pepper },
    });
    try {
      expect(service.keys?.keyIdFor(fp)).toBeNull();
      // `keys import` in another process, then the key is revoked (a minute ago).
      const db = openKeysDb(home);
      try {
        const vault = await Vault.open(db, new LocalKeyEncryptionKey(randomBytes(32)));
        const item = { id: 'late', instance: 'https://social.example', kind: 'user', scopes: ['read'], owner: 'o', purpose: 'p', labels: {}, token, client_id: 'cid', client_secret: 'csecret' } as InventoryItem;
        await new KeyInventory(db).upsertMany(vault, pepper, [item]);
        setKeyStatus(db, 'late', 'revoked', new Date(Date.now() - 60_000).toISOString());
      } finally {
        db.close();
      }
      await new Promise((r) => setTimeout(r, reloadMs * 1.5)); // one reload period, with room for the timer
      expect(service.keys?.keyIdFor(fp)).toBe('late');
      expect(service.keys?.byFingerprint(fp)).toMatchObject({ keyId: 'late', status: 'revoked', scopes: ['read'] });

      const line = { ts: new Date().toISOString(), ip: '203.0.113.7', rid: randomBytes(16).toString('hex'), host: 'social.example', method: 'GET', uri: '/api/v1/timelines/home', status: 200, bytes: 10, rt: 0.01, ua: 'Tusky/25.2', fp };
      const push = await fetch(`${service.url}/push`, { method: 'POST', body: `${JSON.stringify(line)}\n`, headers: { authorization: 'Bearer main-test-token-123456' } });
      expect(await push.json()).toEqual({ accepted: 1, rejected: 0 });
      let findings = await service.store.searchFindings({});
      for (let i = 0; i < 100 && findings.length === 0; i++) (await new Promise((r) => setTimeout(r, 50)), (findings = await service.store.searchFindings({})));
      // Ingest attributed the line to the new key; detection knew it as revoked.
      expect((await service.store.searchEvents({})).map((e) => e['tuskguard.key_id'])).toEqual(['late']);
      expect(findings.map((f) => `${f.rule}:${f.key}`)).toEqual(['revoked-key-use:late']);

      // A failed read (fingerprints of another pepper) keeps the previous inventory and is counted once per reload.
      const meta = openKeysDb(home);
      meta.prepare("UPDATE keys_meta SET pepper_check = 'other'").run();
      meta.close();
      await new Promise((r) => setTimeout(r, reloadMs * 2.5));
      const failed = (await metrics.value('tuskguard_errors_total', { component: 'keys', stage: 'reload' })) ?? 0;
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(failed).toBeLessThanOrEqual(3);
      expect(await metrics.value('tuskguard_errors_total', { component: 'detect', stage: 'keys-reload' })).toBeFalsy();
      expect(service.keys?.byFingerprint(fp)).toMatchObject({ keyId: 'late', status: 'revoked' });
    } finally {
      await service.close();
    }
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
