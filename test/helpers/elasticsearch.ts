import { Client } from '@elastic/elasticsearch';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { inject } from 'vitest';
import { elasticsearchStoreSchema, type ElasticsearchStoreConfig } from '../../src/config/schema.js';

/**
 * Helpers for tests that need the real Elasticsearch found or started by global-setup.ts.
 * A test file that imports this module is an "Elasticsearch test file": the global setup only
 * looks for a node when at least one such file is in the run.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the run's Elasticsearch, or null when there is none (tests then skip). */
    esUrl: string | null;
    /** Why there is no Elasticsearch (shown by skipped suites). */
    esSkipReason: string;
  }
}

/** The run's Elasticsearch URL, or null (then `describe.skipIf(!esUrl())`). */
export function esUrl(): string | null {
  try {
    // The global setup's decision wins, including "none" (a stale ES_URL must not revive it).
    const provided = inject('esUrl');
    if (provided !== undefined) return provided;
  } catch {
    // inject() exists only inside a vitest worker; scripts fall back to the environment.
  }
  return process.env.ES_URL ?? null;
}

export function esSkipReason(): string {
  try {
    return inject('esSkipReason') || 'no Elasticsearch for this run';
  } catch {
    return 'no Elasticsearch for this run';
  }
}

/** `tgt-<file>-<random>`: unique per test file (and per call), valid as an index prefix. */
export function uniquePrefix(file: string): string {
  const stem = basename(file).replace(/\.test\.ts$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 20);
  return `tgt-${stem}-${randomBytes(3).toString('hex')}`;
}

/** A store config for `prefix` with test-friendly defaults (no replicas on a single node). */
export function esStoreConfig(url: string, prefix: string, over: Record<string, unknown> = {}): ElasticsearchStoreConfig {
  const { bulk, ...rest } = over as { bulk?: Record<string, unknown> };
  return elasticsearchStoreSchema.parse({
    url,
    index_prefix: prefix,
    replicas: 0,
    ...rest,
    bulk: { flush_interval: '50ms', ...bulk },
  });
}

export function adminClient(url: string): Client {
  return new Client({ node: url, maxRetries: 2, requestTimeout: 30_000 });
}

/** Remove every index and template whose name starts with `prefix-`. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = adminClient(url);
  try {
    const rows = (await client.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index', expand_wildcards: 'all' })) as { index: string }[];
    if (rows.length) await client.indices.delete({ index: rows.map((r) => r.index), ignore_unavailable: true });
    const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` }).catch(() => ({ index_templates: [] }));
    for (const t of templates.index_templates) await client.indices.deleteIndexTemplate({ name: t.name });
    const components = await client.cluster.getComponentTemplate({ name: `${prefix}-*` }).catch(() => ({ component_templates: [] }));
    for (const c of components.component_templates) await client.cluster.deleteComponentTemplate({ name: c.name });
  } finally {
    await client.close();
  }
}
