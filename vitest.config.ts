import { defineConfig } from 'vitest/config';

// Tests run against real peers (Elasticsearch, nginx, SMTP, Chromium); the global setup
// finds or starts Elasticsearch once for the whole run and exports ES_URL to the workers.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
