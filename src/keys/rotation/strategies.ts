import { TuskguardError } from '../../core/errors.js';
import type { KeyRecord } from '../schema.js';
import { clientCredentials } from './client-credentials/index.js';
import { command } from './command/index.js';
import { reauthorize } from './reauthorize/index.js';
import type { RotationStrategy } from './types.js';

/**
 * The strategy registry: one folder per strategy (kebab-case of the id), one entry here.
 * test/keys/rotation/registry.test.ts checks that the folders and this list agree.
 */
export const STRATEGIES: Readonly<Record<RotationStrategy['id'], RotationStrategy>> = {
  client_credentials: clientCredentials,
  reauthorize,
  command,
};

/** The key's strategy: its own `rotation.strategy`, else `client_credentials` for app tokens. */
export function strategyFor(key: KeyRecord): RotationStrategy {
  const id = key.rotation?.strategy ?? (key.kind === 'app' ? 'client_credentials' : undefined);
  if (id === undefined) {
    throw new TuskguardError('USAGE', `${key.id} is a user token and has no rotation strategy`, {
      hint: 'set rotation.strategy to reauthorize (the owner consents through a link) or command in the inventory',
    });
  }
  const strategy = STRATEGIES[id];
  if (!strategy.kinds.includes(key.kind)) {
    throw new TuskguardError('USAGE', `strategy ${id} cannot rotate a ${key.kind} token`, {
      hint: 'FACTS §3: only app-only tokens can be re-minted without a person; use reauthorize or command',
    });
  }
  return strategy;
}
