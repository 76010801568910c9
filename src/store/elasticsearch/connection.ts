import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';
import { readFileSync } from 'node:fs';
import type { ElasticsearchStoreConfig } from '../../config/schema.js';
import { TuskguardError, errorMessage } from '../../core/errors.js';

/**
 * Connecting to the cluster: URLs from the config, credentials and the CA from the environment
 * (or `ca_file`). Credentials never reach a log line or an error message: errors name the
 * URLs with any user-info stripped and say which variable to check.
 */

export const ENV = {
  apiKey: 'TUSKGUARD_ES_API_KEY',
  username: 'TUSKGUARD_ES_USERNAME',
  password: 'TUSKGUARD_ES_PASSWORD',
  caFile: 'TUSKGUARD_ES_CA_FILE',
} as const;

/** `https://user:secret@host:9200/` → `https://***@host:9200/`, in any text. */
export function redactUrls(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
}

export function nodeUrls(config: ElasticsearchStoreConfig): string[] {
  return Array.isArray(config.url) ? [...config.url] : [config.url];
}

function auth(env: NodeJS.ProcessEnv): ClientOptions['auth'] {
  const apiKey = env[ENV.apiKey];
  if (apiKey) return { apiKey };
  const username = env[ENV.username];
  if (!username) return undefined;
  const password = env[ENV.password];
  if (!password) {
    throw new TuskguardError('SECRET_MISSING', `${ENV.username} is set but ${ENV.password} is not`, {
      hint: `set ${ENV.password}, or use ${ENV.apiKey} instead of basic auth`,
    });
  }
  return { username, password };
}

function tls(config: ElasticsearchStoreConfig, env: NodeJS.ProcessEnv): ClientOptions['tls'] {
  const caFile = config.ca_file ?? env[ENV.caFile];
  if (!caFile) return config.tls_insecure ? { rejectUnauthorized: false } : undefined;
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (e) {
    throw new TuskguardError('STORE_UNAVAILABLE', `cannot read the Elasticsearch CA file ${caFile}: ${errorMessage(e)}`, {
      hint: `point store.elasticsearch.ca_file or ${ENV.caFile} at a readable PEM file`,
      cause: e,
    });
  }
  return { ca, rejectUnauthorized: !config.tls_insecure };
}

/**
 * A client for the configured cluster. Retries are off at this level for writes (the bulk
 * writer retries with backoff and jitter itself); reads get the client's own two retries.
 */
export function createClient(config: ElasticsearchStoreConfig, env: NodeJS.ProcessEnv): Client {
  const urls = nodeUrls(config);
  const options: ClientOptions = {
    nodes: urls,
    auth: auth(env),
    tls: tls(config, env),
    maxRetries: 2,
    requestTimeout: 60_000,
    name: 'tuskguard',
  };
  try {
    return new Client(options);
  } catch (e) {
    throw new TuskguardError('CONFIG_INVALID', `store.elasticsearch: ${redactUrls(errorMessage(e))}`, {
      hint: 'check store.elasticsearch.url (http(s)://host:port)',
    });
  }
}

/** Status of a client error, or undefined for connection-level failures. */
export function statusOf(e: unknown): number | undefined {
  return e instanceof errors.ResponseError ? e.statusCode ?? undefined : undefined;
}

/** True for failures worth retrying: no answer, a timeout, 429 or 5xx. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof errors.ConnectionError || e instanceof errors.TimeoutError) return true;
  if (e instanceof errors.NoLivingConnectionsError) return true;
  const status = statusOf(e);
  return status === 429 || (status !== undefined && status >= 500);
}

/** A STORE_UNAVAILABLE error that says what went wrong and what to check, without secrets. */
export function unavailable(e: unknown, urls: readonly string[], doing: string): TuskguardError {
  const where = redactUrls(urls.join(', '));
  const status = statusOf(e);
  const cause = redactUrls(errorMessage(e));
  let hint = `check that Elasticsearch 8 runs at ${where} (store.elasticsearch.url), and the TLS CA (ca_file or ${ENV.caFile}) for https`;
  if (status === 401) hint = `the cluster rejected the credentials: check ${ENV.apiKey}, or ${ENV.username} and ${ENV.password}`;
  else if (status === 403) hint = 'the credentials lack privileges: they need manage_index_templates on the cluster and create_index, write, read, delete_index on the index prefix';
  else if (e instanceof errors.ProductNotSupportedError) hint = `the server at ${where} is not Elasticsearch`;
  // The client's error object carries request metadata; only its redacted message travels on.
  return new TuskguardError('STORE_UNAVAILABLE', `Elasticsearch at ${where}: ${doing} failed: ${cause}`, {
    hint,
    cause: new Error(cause),
    details: { urls: urls.map(redactUrls), status },
  });
}
