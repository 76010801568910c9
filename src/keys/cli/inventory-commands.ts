import { TuskguardError } from '../../core/errors.js';
import { EXIT, printJson, type OutputMode } from '../../cli/output.js';
import { readInventoryFile } from '../import-file.js';
import type { UpsertResult } from '../inventory.js';
import { inventoryItemSchema, type InventoryItem } from '../schema.js';
import { formatKeyDetail, formatKeyList, keyDetailView, keyView, redactedExport, table } from '../view.js';
import { lastSeenMap, pepperOf, readUsage, withInventory, type KeysCommandContext } from './context.js';
import { readSecrets } from './secret-input.js';

/** Actions behind `tuskguard keys …` (wired in src/cli/commands/keys.ts). None prints a secret. */

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function reminder(file: string): string {
  return `${file} holds tokens and client secrets in the clear: delete it now (e.g. \`shred -u ${file}\`); \`tuskguard scan\` will keep finding it until you do.`;
}

function printUpserts(results: readonly UpsertResult[]): void {
  out(table(['RESULT', 'ID', 'FINGERPRINT', ''], results.map((r) => [r.outcome, r.id, r.fingerprint, r.secret_changed ? '(new token)' : ''])));
}

/** Exit 0 when every item was applied; 1 when a rotating key was left out (the others were imported). */
export async function importAction(ctx: KeysCommandContext, file: string, output: OutputMode): Promise<number> {
  const items = readInventoryFile(file);
  const pepper = pepperOf(ctx);
  const results = await withInventory(ctx, (inventory, vault) => inventory.upsertMany(vault!, pepper, items), true);
  const ids = (o: UpsertResult['outcome']) => results.filter((r) => r.outcome === o).map((r) => r.id);
  const refused = results.filter((r) => r.outcome === 'refused');
  if (output === 'json') {
    printJson({ file, added: ids('added'), updated: ids('updated'), unchanged: ids('unchanged'), refused: refused.map((r) => ({ id: r.id, reason: r.reason })), results, reminder: reminder(file) });
  } else {
    printUpserts(results);
    out(`imported ${results.length - refused.length} key(s) from ${file}: ${ids('added').length} added, ${ids('updated').length} updated, ${ids('unchanged').length} unchanged, ${refused.length} refused`);
    out(reminder(file));
  }
  for (const r of refused) process.stderr.write(`error: not imported: ${r.reason}\n`);
  const changed = results.filter((r) => r.secret_changed).map((r) => r.id);
  if (changed.length) process.stderr.write(`note: the token of ${changed.join(', ')} changed; importing does not revoke the previous token\n`);
  return refused.length > 0 ? EXIT.FOUND : EXIT.OK;
}

export interface AddFlags {
  id: string;
  instance: string;
  kind: string;
  scopes: string[];
  owner: string;
  purpose: string;
  clientId: string;
  label: string[];
  maxAge?: string;
  strategy?: string;
  grace?: string;
}

const FLAG_OF: Record<string, string> = { client_id: '--client-id', max_age: '--max-age', token: 'token (stdin)', client_secret: 'client secret (stdin)' };

function itemFromFlags(flags: AddFlags, secrets: { token: string; client_secret: string }): InventoryItem {
  const labels: Record<string, string> = {};
  for (const l of flags.label) {
    const eq = l.indexOf('=');
    if (eq < 1) throw new TuskguardError('USAGE', `--label ${l}: expected NAME=VALUE`, { hint: 'e.g. --label team=payments' });
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const rotation = { max_age: flags.maxAge, strategy: flags.strategy, grace: flags.grace };
  const hasRotation = Object.values(rotation).some((v) => v !== undefined);
  const raw = {
    id: flags.id, instance: flags.instance, kind: flags.kind, scopes: flags.scopes.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean),
    owner: flags.owner, purpose: flags.purpose, labels, client_id: flags.clientId, ...secrets,
    ...(hasRotation ? { rotation: Object.fromEntries(Object.entries(rotation).filter(([, v]) => v !== undefined)) } : {}),
  };
  const parsed = inventoryItemSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => {
    const head = String(i.path[0] ?? '');
    return `${FLAG_OF[head] ?? (head === 'rotation' ? `--${String(i.path[1] ?? '').replace('_', '-')}` : `--${head}`)}: ${i.message}`;
  });
  throw new TuskguardError('USAGE', `keys add:\n  ${issues.join('\n  ')}`, { hint: 'fix the values named above; nothing was added' });
}

export async function addAction(ctx: KeysCommandContext, flags: AddFlags, output: OutputMode): Promise<number> {
  const pepper = pepperOf(ctx);
  const result = await withInventory(
    ctx,
    async (inventory, vault) => {
      if (inventory.get(flags.id)) {
        throw new TuskguardError('KEY_EXISTS', `a managed key with id ${flags.id} already exists`, {
          hint: 'pick another id, or update it with `tuskguard keys import FILE`',
        });
      }
      const item = itemFromFlags(flags, await readSecrets());
      return (await inventory.upsertMany(vault!, pepper, [item]))[0]!;
    },
    true,
  );
  if (output === 'json') printJson(result);
  else out(`added ${result.id} (fingerprint ${result.fingerprint})`);
  return 0;
}

export async function listAction(ctx: KeysCommandContext, opts: { lastSeen: boolean }, output: OutputMode): Promise<number> {
  const keys = await withInventory(ctx, async (inventory) => inventory.list());
  const usage = opts.lastSeen ? await readUsage(ctx, { fingerprints: keys.map((k) => k.fingerprint) }, false) : null;
  const seen = lastSeenMap(usage ?? []);
  const now = new Date();
  const views = keys.map((k) => keyView(k, seen.get(k.fingerprint) ?? null, now));
  if (output === 'json') printJson(views);
  else out(formatKeyList(views));
  return 0;
}

export async function showAction(ctx: KeysCommandContext, id: string, opts: { lastSeen: boolean }, output: OutputMode): Promise<number> {
  const [key, revocations] = await withInventory(ctx, async (inventory) => [inventory.require(id), inventory.revocations(id)] as const);
  const usage = opts.lastSeen ? await readUsage(ctx, { fingerprints: [key.fingerprint] }, false) : null;
  const view = keyDetailView(key, lastSeenMap(usage ?? []).get(key.fingerprint) ?? null, new Date(), revocations);
  if (output === 'json') printJson(view);
  else out(formatKeyDetail(view));
  return 0;
}

export async function exportAction(ctx: KeysCommandContext, opts: { redacted?: boolean; format?: string }, output: OutputMode): Promise<number> {
  if (!opts.redacted) {
    throw new TuskguardError('USAGE', 'keys export needs --redacted: secrets never leave the vault', {
      hint: 'run `tuskguard keys export --redacted` for the inventory without tokens and client secrets',
    });
  }
  const keys = await withInventory(ctx, async (inventory) => inventory.list());
  process.stdout.write(redactedExport(keys, output === 'json' || opts.format === 'json' ? 'json' : 'yaml'));
  return 0;
}

export async function refingerprintAction(ctx: KeysCommandContext, output: OutputMode): Promise<number> {
  const pepper = pepperOf(ctx);
  const results = await withInventory(ctx, (inventory, vault) => inventory.refingerprint(vault!, pepper), true);
  if (output === 'json') printJson({ keys: results });
  else {
    out(table(['ID', 'FINGERPRINT', 'CHANGED'], results.map((r) => [r.id, r.fingerprint, r.changed ? 'yes' : 'no'])));
    out(`${results.filter((r) => r.changed).length} of ${results.length} fingerprint(s) changed`);
  }
  return 0;
}
