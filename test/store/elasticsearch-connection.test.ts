import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { ElasticsearchStore } from '../../src/store/elasticsearch/store.js';
import { createStore } from '../../src/store/index.js';
import { dropPrefix, esSkipReason, esStoreConfig, esUrl, uniquePrefix } from '../helpers/elasticsearch.js';
import { FaultProxy } from './es-proxy.js';
import { event } from './fixtures.js';

const url = esUrl();
const base = uniquePrefix(import.meta.filename);

describe.skipIf(!url)(`Elasticsearch connection: URLs, credentials, TLS${url ? '' : ` (skipped: ${esSkipReason()})`}`, () => {
  const proxies: FaultProxy[] = [];
  const stores: ElasticsearchStore[] = [];
  const events = (n: number, from = 0) => Array.from({ length: n }, (_, i) => event(from + i));

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const p of proxies.splice(0)) await p.close();
  });
  afterAll(() => dropPrefix(url!, base));

  it('createStore picks Elasticsearch from the config and initialises it', async () => {
    const config = validateConfig({ store: { type: 'elasticsearch', elasticsearch: { url: url!, index_prefix: `${base}-cfg`, replicas: 0 } } });
    const store = await createStore({ config, home: tmpdir(), file: null }, { metrics: new Metrics(), logger: silentLogger });
    try {
      expect(store.kind).toBe('elasticsearch');
      expect(await store.writeEvents(events(2))).toEqual({ written: 2, failed: [] });
      await store.refresh();
      expect(await store.countEvents({})).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('fails init with STORE_UNAVAILABLE and a hint when nothing listens at the URL', async () => {
    const store = new ElasticsearchStore({
      config: esStoreConfig('http://127.0.0.1:9', `${base}-down`),
      env: {},
      metrics: new Metrics(),
      logger: silentLogger,
    });
    const error = await store.init().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', hint: expect.stringContaining('store.elasticsearch.url') });
  });

  it('sends the API key from the environment, and never shows it when the cluster rejects it', async () => {
    const secret = 'c2VjcmV0LWtleS1kby1ub3QtbG9n';
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream });
    const proxy = new FaultProxy(url!, { authorize: () => false });
    proxies.push(proxy);
    const store = new ElasticsearchStore({
      config: esStoreConfig(await proxy.start(), `${base}-auth`),
      env: { TUSKGUARD_ES_API_KEY: secret },
      metrics: new Metrics(),
      logger,
    });
    const error = (await store.init().catch((e: unknown) => e)) as Error & { hint: string; toJSON(): unknown };
    expect(proxy.authorizations[0]).toBe(`ApiKey ${secret}`);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', hint: expect.stringContaining('TUSKGUARD_ES_API_KEY') });
    const shown = [error.message, error.hint, JSON.stringify(error.toJSON()), String(error.cause), ...lines].join('\n');
    expect(shown).not.toContain(secret);
  });

  it('accepts basic auth from the environment and strips credentials written into the URL from errors', async () => {
    const proxy = new FaultProxy(url!, { authorize: (a) => a === `Basic ${Buffer.from('ingest:pa55word').toString('base64')}` });
    proxies.push(proxy);
    const proxyUrl = await proxy.start();
    const ok = new ElasticsearchStore({
      config: esStoreConfig(proxyUrl, `${base}-basic`),
      env: { TUSKGUARD_ES_USERNAME: 'ingest', TUSKGUARD_ES_PASSWORD: 'pa55word' },
      metrics: new Metrics(),
      logger: silentLogger,
    });
    stores.push(ok);
    await ok.init();
    expect(await ok.writeEvents([event(1)])).toEqual({ written: 1, failed: [] });
    const wrong = new ElasticsearchStore({
      config: esStoreConfig(proxyUrl.replace('://', '://ingest:hunter2@'), `${base}-basic`),
      env: {},
      metrics: new Metrics(),
      logger: silentLogger,
    });
    const error = (await wrong.init().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(error.message).not.toContain('hunter2');
  });

  it('fails over to the next node when one of several URLs is down', async () => {
    const multi = new ElasticsearchStore({
      config: esStoreConfig(url!, `${base}-multi`, { url: ['http://127.0.0.1:9', url!] }),
      env: {},
      metrics: new Metrics(),
      logger: silentLogger,
      retryBaseMs: 5,
    });
    stores.push(multi);
    await multi.init();
    for (let i = 0; i < 4; i++) expect((await multi.writeEvents(events(5, i * 5))).written).toBe(5);
    await multi.refresh();
    expect(await multi.countEvents({})).toBe(20);
  });

  describe('TLS with a private CA', () => {
    let dir: string;
    let proxyUrl: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tuskguard-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.pem'),
      ], { stdio: 'ignore' });
      const proxy = new FaultProxy(url!, { tls: { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'ca.pem'), 'utf8') } });
      proxyUrl = await proxy.start();
      afterAll(() => proxy.close());
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const open = (over: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
      const store = new ElasticsearchStore({ config: esStoreConfig(proxyUrl, `${base}-tls`, over), env, metrics: new Metrics(), logger: silentLogger });
      stores.push(store);
      return store;
    };

    it('connects over https when ca_file names the CA', async () => {
      const store = open({ ca_file: join(dir, 'ca.pem') });
      await store.init();
      expect(await store.writeEvents(events(3))).toEqual({ written: 3, failed: [] });
    });

    it('takes the CA from TUSKGUARD_ES_CA_FILE', async () => {
      const store = open({}, { TUSKGUARD_ES_CA_FILE: join(dir, 'ca.pem') });
      await store.init();
      expect(await store.writeEvents(events(1))).toEqual({ written: 1, failed: [] });
    });

    it('refuses an untrusted certificate with STORE_UNAVAILABLE and a hint about the CA', async () => {
      const error = await open({}).init().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', hint: expect.stringContaining('TUSKGUARD_ES_CA_FILE') });
    });

    it('says which CA file it cannot read', async () => {
      const error = await open({ ca_file: join(dir, 'missing.pem') }).init().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('missing.pem') });
    });
  });
});
