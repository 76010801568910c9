import { z } from 'zod';
import { revocationConfigSchema, rotationConfigSchema } from '../keys/rotation/config.js';

/**
 * The configuration contract (`tuskguard.yaml`). Defaults and documentation live here and
 * nowhere else; every object is `.strict()` so a misspelt key fails at load with its path.
 * Secrets are never values in this file: only the names of environment variables or files.
 */

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, 'a duration such as 500ms, 30s, 5m, 2h, 7d or 1w')
  .describe('A duration: a whole number followed by ms, s, m, h, d or w.');

export const FORMATS = ['nginx-json', 'combined', 'mastodon'] as const;
export const formatSchema = z.enum(FORMATS).describe('Log format of the lines this source reads.');

export const fileTailSourceSchema = z
  .object({
    type: z.literal('file-tail'),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Stable id; offsets are persisted under it.'),
    format: formatSchema,
    paths: z.array(z.string().min(1)).min(1).describe('Files to follow (globs allowed).'),
    start_at: z.enum(['beginning', 'end']).default('beginning').describe('Where to start a file never seen before.'),
    poll_interval: duration.default('250ms').describe('How often to check for growth and rotation.'),
    max_line_bytes: z.number().int().positive().default(65_536).describe('Longer lines are dead-lettered, not parsed.'),
  })
  .strict();

export const httpPushSourceSchema = z
  .object({
    type: z.literal('http-push'),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    format: formatSchema,
    path: z.string().startsWith('/').default('/ingest').describe('URL path on the API listener.'),
    token_env: z
      .string()
      .default('TUSKGUARD_PUSH_TOKEN')
      .describe('Environment variable holding the bearer token clients must send.'),
    token_file: z.string().optional().describe('File holding the bearer token (instead of token_env).'),
    body_limit_bytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** The JSON field holding the raw line when clients send objects (Fluent Bit `log`, Vector `message`). */
    line_field: z.array(z.string()).default(['message', 'log']).describe('Fields tried, in order, for the raw line.'),
  })
  .strict();

export const sourceSchema = z.discriminatedUnion('type', [fileTailSourceSchema, httpPushSourceSchema]);

export const sqliteStoreSchema = z
  .object({
    path: z.string().optional().describe('Database file; default <home>/events.db.'),
    retention: duration.default('30d').describe('Events older than this are deleted by the retention job.'),
  })
  .strict();

export const elasticsearchStoreSchema = z
  .object({
    url: z
      .union([z.string().url(), z.array(z.string().url()).min(1)])
      .describe('Node URL(s). Credentials come from TUSKGUARD_ES_API_KEY or TUSKGUARD_ES_USERNAME/PASSWORD.'),
    index_prefix: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).default('tuskguard'),
    ca_file: z.string().optional().describe('PEM CA bundle for TLS (also TUSKGUARD_ES_CA_FILE).'),
    tls_insecure: z.boolean().default(false).describe('Skip TLS verification (tests only; never in production).'),
    index_period: z.enum(['day', 'month']).default('day').describe('Time-based index granularity.'),
    retention: duration.default('30d'),
    shards: z.number().int().positive().default(1),
    replicas: z.number().int().min(0).default(1),
    bulk: z
      .object({
        max_docs: z.number().int().positive().default(2_000),
        max_bytes: z.number().int().positive().default(5 * 1024 * 1024),
        flush_interval: duration.default('1s'),
        concurrency: z.number().int().positive().max(16).default(2),
        max_retries: z.number().int().min(0).default(8),
        max_buffered_docs: z.number().int().positive().default(50_000).describe('Backpressure threshold.'),
      })
      .strict()
      .default({
        max_docs: 2_000,
        max_bytes: 5 * 1024 * 1024,
        flush_interval: '1s',
        concurrency: 2,
        max_retries: 8,
        max_buffered_docs: 50_000,
      }),
  })
  .strict();

export const storeSchema = z
  .object({
    type: z.enum(['sqlite', 'elasticsearch']).default('sqlite'),
    sqlite: sqliteStoreSchema.default({ retention: '30d' }),
    elasticsearch: elasticsearchStoreSchema.optional(),
  })
  .strict()
  .refine((s) => s.type !== 'elasticsearch' || s.elasticsearch !== undefined, {
    message: 'store.type is elasticsearch but store.elasticsearch is missing (add at least url)',
    path: ['elasticsearch'],
  });

export const configSchema = z
  .object({
    home: z
      .string()
      .optional()
      .describe('Data directory (SQLite files, offsets, dead letters). Default $TUSKGUARD_HOME or ./.tuskguard.'),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    pepper_file: z.string().optional().describe('File holding the fingerprint pepper (else TUSKGUARD_PEPPER).'),
    store: storeSchema.default({ type: 'sqlite', sqlite: { retention: '30d' } }),
    sources: z.array(sourceSchema).default([]),
    join: z
      .object({
        wait: duration.default('5s').describe('How long a proxy or Mastodon line waits for its partner.'),
        max_pending: z.number().int().positive().default(100_000).describe('Oldest lines are released past this.'),
      })
      .strict()
      .default({ wait: '5s', max_pending: 100_000 }),
    enrich: z
      .object({
        geo_mmdb: z.string().optional().describe('MaxMind-format City or Country database.'),
        asn_mmdb: z.string().optional().describe('MaxMind-format ASN database.'),
        endpoint_scopes: z.string().optional().describe('Override of the bundled endpoint-scopes.json.'),
      })
      .strict()
      .default({}),
    api: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8787),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8787 }),
    rotation: rotationConfigSchema.prefault({}).describe('Key rotation: targets, site command, consent links, cut-over timing.'),
    revocation: revocationConfigSchema.prefault({}).describe('Retry of revocations that could not reach Mastodon.'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type FileTailSourceConfig = z.infer<typeof fileTailSourceSchema>;
export type HttpPushSourceConfig = z.infer<typeof httpPushSourceSchema>;
export type ElasticsearchStoreConfig = z.infer<typeof elasticsearchStoreSchema>;
export type Format = (typeof FORMATS)[number];

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Milliseconds of a duration string from the schema (`30s` → 30000). */
export function durationMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
