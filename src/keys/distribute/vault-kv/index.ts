import { request } from 'undici';
import { z } from 'zod';
import { timeoutMs } from '../timeout.js';
import { TuskguardError, errorMessage } from '../../../core/errors.js';
import { redactSecrets } from '../../../core/redact.js';
import type { Delivery, DistributionTarget } from '../types.js';

/**
 * `vault-kv`: write the new key to HashiCorp Vault's KV version 2 secrets engine over its HTTP
 * API (`PUT /v1/<mount>/data/<path>` with `X-Vault-Token`), then read it back
 * (`GET` the same path) and compare, so "delivered" means Vault serves the new token.
 * The Vault token comes from an environment variable at delivery time, never from the config.
 */

export const vaultKvTargetSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    type: z.literal('vault-kv'),
    url: z.url({ protocol: /^https?$/ }).describe('Vault address, e.g. https://vault.internal:8200.'),
    mount: z.string().regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/).default('secret').describe('KV v2 mount path.'),
    path: z
      .string()
      .regex(/^[A-Za-z0-9_.{}-]+(?:\/[A-Za-z0-9_.{}-]+)*$/)
      .default('tuskguard/{key_id}')
      .describe('Secret path under the mount; {key_id} is replaced by the key id.'),
    field: z.string().regex(/^[A-Za-z0-9_]+$/).default('token').describe('Field that holds the token.'),
    token_env: z.string().default('VAULT_TOKEN').describe('Environment variable holding the Vault token.'),
    namespace: z.string().optional().describe('X-Vault-Namespace (Vault Enterprise).'),
    timeout: z.string().regex(/^\d+(ms|s|m)$/).default('10s'),
  })
  .strict();
export type VaultKvTargetConfig = z.infer<typeof vaultKvTargetSchema>;

interface KvReadBody {
  data?: { data?: Record<string, unknown>; metadata?: { version?: number } };
}

export class VaultKvTarget implements DistributionTarget {
  readonly type = 'vault-kv';
  readonly id: string;

  constructor(
    private readonly config: VaultKvTargetConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.id = config.id;
  }

  private url(keyId: string): string {
    const path = this.config.path.replaceAll('{key_id}', keyId);
    const base = this.config.url.replace(/\/+$/, '');
    return `${base}/v1/${this.config.mount}/data/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  private fail(message: string, delivery: Delivery, extra: Record<string, unknown> = {}): TuskguardError {
    return new TuskguardError('DISTRIBUTION_FAILED', `vault-kv ${this.id}: ${message}`, {
      hint: 'check the Vault address, that the mount is KV version 2, and that the token in the configured variable may write the path',
      details: { target: this.id, type: this.type, fingerprint: delivery.fingerprint, ...extra },
    });
  }

  private async call(method: 'PUT' | 'GET', url: string, token: string, delivery: Delivery, body?: string) {
    const ms = timeoutMs(this.config.timeout);
    const headers: Record<string, string> = { 'x-vault-token': token, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.config.namespace) headers['x-vault-namespace'] = this.config.namespace;
    let res;
    try {
      res = await request(url, { method, headers, body, headersTimeout: ms, bodyTimeout: ms });
    } catch (e) {
      throw this.fail(`${method} failed: ${errorMessage(e)}`, delivery, { reason: 'unreachable' });
    }
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw this.fail(`${method} answered ${res.statusCode}: ${vaultErrors(text)}`, delivery, { status: res.statusCode });
    }
    return text;
  }

  async deliver(delivery: Delivery): Promise<Record<string, unknown>> {
    const token = this.env[this.config.token_env];
    if (!token) throw this.fail(`no Vault token: ${this.config.token_env} is not set`, delivery);
    const url = this.url(delivery.keyId);
    const data = {
      [this.config.field]: delivery.secrets.token,
      fingerprint: delivery.fingerprint,
      key_id: delivery.keyId,
      instance: delivery.instance,
      client_id: delivery.secrets.client_id,
      rotated_at: delivery.rotatedAt,
    };
    await this.call('PUT', url, token, delivery, JSON.stringify({ data }));
    const read = parseJson(await this.call('GET', url, token, delivery)) as KvReadBody | null;
    const stored = read?.data?.data;
    if (stored?.[this.config.field] !== delivery.secrets.token || stored?.fingerprint !== delivery.fingerprint) {
      throw this.fail('read-back does not match what was written (is this a KV version 2 mount?)', delivery);
    }
    return { url: url.replace(/\/v1\/.*$/, ''), mount: this.config.mount, path: this.config.path.replaceAll('{key_id}', delivery.keyId), version: read?.data?.metadata?.version ?? null };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Vault's `{"errors":[…]}`, shortened and scrubbed (Vault never echoes data, but be sure). */
function vaultErrors(text: string): string {
  const body = parseJson(text) as { errors?: unknown } | null;
  const list = Array.isArray(body?.errors) ? body.errors.map(String).join('; ') : 'no error text';
  return redactSecrets(list).slice(0, 300);
}
