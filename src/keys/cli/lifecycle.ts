import { userInfo } from 'node:os';
import { openKeysDb } from '../db.js';
import { requireKek } from '../kms.js';
import type { Notifier } from '../revocation/types.js';
import { buildLifecycle, type Lifecycle } from '../rotation/runtime.js';
import { Vault } from '../vault.js';
import type { EventStore } from '../../store/types.js';
import { openEventStore, pepperOf, type KeysCommandContext } from './context.js';

/**
 * What `keys revoke`, `keys rotate` and `keys rotation status` share: the control DB, the vault
 * under the master key, the revocation and rotation services (notices go to the log on
 * stderr, actions to the audit chain), and — when `events` is asked for — the event store,
 * whose records of the old key's use decide the rotation cut-over. All closed afterwards.
 */
export async function withLifecycle<T>(ctx: KeysCommandContext, fn: (lc: Lifecycle) => Promise<T>, opts: { events?: boolean } = {}): Promise<T> {
  const pepper = pepperOf(ctx);
  const db = openKeysDb(ctx.loaded.home);
  let store: EventStore | null = null;
  try {
    const vault = await Vault.open(db, requireKek(ctx.env), ctx.logger);
    store = opts.events ? await openEventStore(ctx) : null;
    return await fn(buildLifecycle({ loaded: ctx.loaded, db, vault, pepper, logger: ctx.logger, env: ctx.env, events: store, notifier: stderrNotifier(ctx) }));
  } finally {
    await store?.close();
    db.close();
  }
}

/** Notices for people go to the log and, readably, to stderr (stdout stays the command's report). */
function stderrNotifier(ctx: KeysCommandContext): Notifier {
  return (n) => {
    ctx.logger.info({ notice: n.kind, key_id: n.key_id, fingerprint: n.fingerprint }, n.message);
    process.stderr.write(`notice[${n.kind}] for ${n.owner || n.key_id}: ${n.message}${n.link ? `\n  link: ${n.link}` : ''}\n`);
  };
}

/** `cli:<login>` unless --actor names someone else. */
export function cliActor(actor: string | undefined): string {
  if (actor?.trim()) return actor.trim();
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
