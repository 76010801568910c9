import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { TuskguardError } from '../core/errors.js';
import { inventoryFileSchema, KEY_ID_RE, type InventoryItem } from './schema.js';

/** Inventory files are small; anything larger is a mistake (or not an inventory). */
export const MAX_INVENTORY_BYTES = 4 * 1024 * 1024;

/** An unknown field name is echoed only when it cannot be a pasted secret. */
function safeKeyName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]{0,31}$/.test(name) ? name : '(a field name that is not an identifier)';
}

/** `keys[2] (id bot-a).scopes[1]` — where in the file an issue is, named by index and id. */
function issuePath(path: ReadonlyArray<PropertyKey>, raw: unknown): string {
  let out = '';
  let node: unknown = raw;
  for (const seg of path) {
    if (typeof seg === 'number') {
      out += `[${seg}]`;
      node = Array.isArray(node) ? node[seg] : undefined;
      const id = (node as { id?: unknown } | undefined)?.id;
      if (path[0] === 'keys' && out.split('[').length === 2 && typeof id === 'string' && KEY_ID_RE.test(id) && id.length <= 64) out += ` (id ${id})`;
    } else {
      const name = typeof seg === 'string' ? safeKeyName(seg) : '(symbol)';
      out += out ? `.${name}` : name;
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[String(seg)] : undefined;
    }
  }
  return out || '(root)';
}

/** One line per issue. Messages come from our schema and never echo a value. */
export function formatInventoryIssues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((i) => {
      const message = i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.map(safeKeyName).join(', ')}` : i.message;
      return `${issuePath(i.path, raw)}: ${message}`;
    })
    .join('\n  ');
}

/** `keys[4] (id bot-a).id: duplicate id (also keys[0])` for each repeated id. */
function duplicateIds(raw: unknown): string[] {
  const items = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(items)) return [];
  const seen = new Map<string, number>();
  const out: string[] = [];
  items.forEach((it: unknown, i) => {
    const id = (it as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || !KEY_ID_RE.test(id)) return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else out.push(`keys[${i}] (id ${id}).id: duplicate id (also keys[${first}])`);
  });
  return out;
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

/**
 * Parse YAML (JSON is a subset of it) without ever quoting the source: a syntax error on the
 * `token:` line must not print the token, so errors carry a code and a position only.
 */
function parseText(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const where = lineCol(text, err.pos[0]);
    throw new TuskguardError('CONFIG_INVALID', `${file}:${where}: not valid YAML or JSON (${err.code.toLowerCase().replace(/_/g, ' ')})`, {
      hint: 'fix the syntax at that position; the file must have a top-level `keys:` list',
      details: { file, code: err.code },
    });
  }
  return doc.toJS({ maxAliasCount: 0 });
}

/**
 * Read and validate an inventory file (formats/LOG-FORMAT.md §4). Errors name the file and
 * the item and key path of each problem; nothing is imported unless the whole file is valid.
 */
export function readInventoryFile(file: string): InventoryItem[] {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new TuskguardError('CONFIG_NOT_FOUND', `inventory file not found: ${file}`, {
      hint: 'pass the path of a YAML or JSON file with a top-level `keys:` list',
      cause: e,
    });
  }
  if (size > MAX_INVENTORY_BYTES) {
    throw new TuskguardError('CONFIG_INVALID', `${file} is ${size} bytes; inventory files are limited to ${MAX_INVENTORY_BYTES}`, {
      hint: 'split the file, or check that it is really a key inventory',
    });
  }
  const text = readFileSync(file, 'utf8');
  const raw = parseText(file, text);
  const result = inventoryFileSchema.safeParse(raw);
  const issues = [...(result.success ? [] : [formatInventoryIssues(result.error, raw)]), ...duplicateIds(raw)];
  if (!result.success || issues.length > 0) {
    throw new TuskguardError('CONFIG_INVALID', `${file}:\n  ${issues.join('\n  ')}`, {
      hint: 'fix the items named above (format: formats/LOG-FORMAT.md §4); nothing was imported',
      details: { file },
    });
  }
  return result.data.keys;
}
