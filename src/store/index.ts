import { resolve, join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { durationMs } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { EventStore } from './types.js';
import { SqliteStore } from './sqlite/store.js';

export type { EventStore } from './types.js';

export interface StoreDeps {
  metrics: Metrics;
  logger: Logger;
}

/**
 * The configured searchable store, initialised (tables or index templates in place).
 * `store.type: sqlite` (default) opens `<home>/events.db` unless `store.sqlite.path` names
 * another file (relative paths resolve against the working directory, like every path in
 * the config); `elasticsearch` connects with the URL from the config and credentials from the
 * environment. Fails with STORE_UNAVAILABLE and a hint when the store cannot be reached.
 */
export async function createStore(loaded: LoadedConfig, deps: StoreDeps): Promise<EventStore> {
  const { store } = loaded.config;
  let instance: EventStore;
  if (store.type === 'elasticsearch' && store.elasticsearch) {
    // Loaded on demand: the embedded default should not pay for the Elasticsearch client.
    const { ElasticsearchStore } = await import('./elasticsearch/store.js');
    instance = new ElasticsearchStore({ config: store.elasticsearch, env: process.env, ...deps });
  } else {
    const path = store.sqlite.path === undefined ? join(loaded.home, 'events.db') : resolve(store.sqlite.path);
    instance = new SqliteStore({ path, retentionMs: durationMs(store.sqlite.retention), ...deps });
  }
  await instance.init();
  return instance;
}
