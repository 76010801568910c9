import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { createStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { defineStoreConformance } from './conformance.js';
import { DAY, event } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tuskguard-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

defineStoreConformance('sqlite', {
  open: async (key, metrics) => {
    const store = new SqliteStore({ path: join(dir, `${key}.db`), retentionMs: 30 * DAY, metrics, logger: silentLogger });
    await store.init();
    return store;
  },
  drop: async (key) => rmSync(join(dir, `${key}.db`), { force: true }),
});

describe('SqliteStore specifics', () => {
  it('createStore opens <home>/events.db by default, in WAL mode', async () => {
    const home = join(dir, 'home');
    const store = await createStore(
      { config: validateConfig({}), home, file: null },
      { metrics: new Metrics(), logger: silentLogger },
    );
    expect(store.kind).toBe('sqlite');
    await store.writeEvents([event(1)]);
    await store.close();
    const reopened = new SqliteStore({ path: join(home, 'events.db'), retentionMs: DAY, metrics: new Metrics(), logger: silentLogger });
    await reopened.init();
    expect(await reopened.countEvents({})).toBe(1);
    await reopened.close();
  });

  it('fails with STORE_UNAVAILABLE and a hint when the file cannot be opened', async () => {
    const store = new SqliteStore({ path: join(dir, 'no-such-dir\0', 'x.db'), retentionMs: DAY, metrics: new Metrics(), logger: silentLogger });
    await expect(store.init()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', hint: expect.stringMatching(/store\.sqlite\.path/) });
  });

  it('refuses to write after close with a clear error', async () => {
    const store = new SqliteStore({ path: ':memory:', retentionMs: DAY, metrics: new Metrics(), logger: silentLogger });
    await store.init();
    await store.close();
    await expect(store.writeEvents([event(1)])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
