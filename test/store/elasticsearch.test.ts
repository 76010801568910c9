import { afterAll, describe, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ElasticsearchStore } from '../../src/store/elasticsearch/store.js';
import { dropPrefix, esSkipReason, esStoreConfig, esUrl, uniquePrefix } from '../helpers/elasticsearch.js';
import { defineStoreConformance } from './conformance.js';

const url = esUrl();
const base = uniquePrefix(import.meta.filename);

if (url) {
  defineStoreConformance('elasticsearch', {
    open: async (key, metrics) => {
      const store = new ElasticsearchStore({
        config: esStoreConfig(url, `${base}-${key}`, { retention: '30d' }),
        env: {},
        metrics,
        logger: silentLogger,
      });
      await store.init();
      return store;
    },
    drop: (key) => dropPrefix(url, `${base}-${key}`),
  });
  afterAll(() => dropPrefix(url, base));
} else {
  describe('EventStore conformance: elasticsearch', () => {
    it.skip(`skipped: ${esSkipReason()}`, () => {});
  });
}
