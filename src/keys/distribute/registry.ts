import { z } from 'zod';
import { TuskguardError } from '../../core/errors.js';
import { EnvFileTarget, envFileTargetSchema } from './env-file/index.js';
import type { DistributionTarget } from './types.js';
import { VaultKvTarget, vaultKvTargetSchema } from './vault-kv/index.js';
import { WebhookTarget, webhookTargetSchema } from './webhook/index.js';

/**
 * The distribution target registry: one folder per type under this directory, one entry here
 * (test/keys/rotation/distribute.test.ts checks that the folder list equals this registry).
 */
export const TARGET_TYPES = {
  'env-file': (c: z.infer<typeof envFileTargetSchema>, env: NodeJS.ProcessEnv): DistributionTarget => new EnvFileTarget(c),
  'vault-kv': (c: z.infer<typeof vaultKvTargetSchema>, env: NodeJS.ProcessEnv): DistributionTarget => new VaultKvTarget(c, env),
  webhook: (c: z.infer<typeof webhookTargetSchema>, env: NodeJS.ProcessEnv): DistributionTarget => new WebhookTarget(c, env),
} as const;

export const targetSchema = z.discriminatedUnion('type', [envFileTargetSchema, vaultKvTargetSchema, webhookTargetSchema]);
export type TargetConfig = z.infer<typeof targetSchema>;

export function createTarget(config: TargetConfig, env: NodeJS.ProcessEnv = process.env): DistributionTarget {
  switch (config.type) {
    case 'env-file':
      return TARGET_TYPES['env-file'](config, env);
    case 'vault-kv':
      return TARGET_TYPES['vault-kv'](config, env);
    case 'webhook':
      return TARGET_TYPES.webhook(config, env);
  }
}

/** The targets named for a key, in order; an unknown id is a configuration error. */
export function targetsFor(ids: readonly string[], all: readonly TargetConfig[], env: NodeJS.ProcessEnv = process.env): DistributionTarget[] {
  const byId = new Map(all.map((t) => [t.id, t]));
  return ids.map((id) => {
    const config = byId.get(id);
    if (!config) {
      throw new TuskguardError('CONFIG_INVALID', `rotation target ${JSON.stringify(id)} is not defined in rotation.targets`, {
        hint: `define it under rotation.targets, or remove it from the key's targets (defined: ${[...byId.keys()].join(', ') || 'none'})`,
      });
    }
    return createTarget(config, env);
  });
}
