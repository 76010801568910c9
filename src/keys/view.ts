import { stringify } from 'yaml';
import type { KeyRecord, RevocationRecord } from './schema.js';

/**
 * What `keys list`, `keys show` and `keys export --redacted` print. Built only from inventory
 * records, which hold no secret, so nothing here can leak one.
 */

export interface KeyView {
  id: string;
  fingerprint: string;
  instance: string;
  kind: KeyRecord['kind'];
  scopes: string[];
  owner: string;
  purpose: string;
  labels: Record<string, string>;
  status: KeyRecord['status'];
  rotation: KeyRecord['rotation'];
  /** When the key was first added to the inventory. */
  added_at: string;
  /** When the current token was stored; its age counts from here. */
  token_stored_at: string | null;
  age_days: number | null;
  /** Last request seen in the events; null when never seen (or the store was not consulted). */
  last_seen: string | null;
}

export interface KeyDetailView extends KeyView {
  status_changed_at: string;
  updated_at: string;
  secret_version: number;
  revocations: RevocationRecord[];
}

const DAY_MS = 86_400_000;

export function keyView(k: KeyRecord, lastSeen: string | null, now: Date): KeyView {
  const since = k.token_stored_at ?? k.created_at;
  return {
    id: k.id,
    fingerprint: k.fingerprint,
    instance: k.instance,
    kind: k.kind,
    scopes: k.scopes,
    owner: k.owner,
    purpose: k.purpose,
    labels: k.labels,
    status: k.status,
    rotation: k.rotation,
    added_at: k.created_at,
    token_stored_at: k.token_stored_at,
    age_days: Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / DAY_MS)),
    last_seen: lastSeen,
  };
}

export function keyDetailView(k: KeyRecord, lastSeen: string | null, now: Date, revocations: RevocationRecord[]): KeyDetailView {
  return {
    ...keyView(k, lastSeen, now),
    status_changed_at: k.status_changed_at,
    updated_at: k.updated_at,
    secret_version: k.secret_version,
    revocations,
  };
}

function rotationText(r: KeyRecord['rotation']): string {
  if (!r) return 'none';
  return [r.strategy, r.max_age && `max age ${r.max_age}`, r.grace && `grace ${r.grace}`].filter(Boolean).join(', ') || 'none';
}

/** Columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatKeyList(views: readonly KeyView[]): string {
  if (views.length === 0) return 'no managed keys (add some with `tuskguard keys import FILE` or `tuskguard keys add`)';
  return table(
    ['ID', 'STATUS', 'KIND', 'INSTANCE', 'OWNER', 'AGE', 'LAST SEEN', 'FINGERPRINT'],
    views.map((v) => [v.id, v.status, v.kind, v.instance, v.owner, v.age_days === null ? '-' : `${v.age_days}d`, v.last_seen ?? 'never', v.fingerprint]),
  );
}

export function formatKeyDetail(v: KeyDetailView): string {
  const labels = Object.entries(v.labels).map(([k, val]) => `${k}=${val}`).join(', ') || '-';
  const lines = [
    ['id', v.id],
    ['fingerprint', v.fingerprint],
    ['status', `${v.status} (since ${v.status_changed_at})`],
    ['instance', v.instance],
    ['kind', v.kind],
    ['scopes', v.scopes.join(' ')],
    ['owner', v.owner],
    ['purpose', v.purpose],
    ['labels', labels],
    ['rotation', rotationText(v.rotation)],
    ['added', v.added_at],
    ['token age', v.age_days === null ? '-' : `${v.age_days} days (stored ${v.token_stored_at ?? '?'})`],
    ['last seen', v.last_seen ?? 'never'],
    ['revocations', v.revocations.length === 0 ? 'none' : v.revocations.map((r) => `${r.requested_at} ${r.outcome} by ${r.actor}: ${r.reason}`).join('\n             ')],
  ];
  return lines.map(([k, val]) => `${k!.padEnd(12)} ${val}`).join('\n');
}

/** The inventory without secrets, in the import format plus fingerprint and status. */
export function redactedExport(keys: readonly KeyRecord[], format: 'yaml' | 'json'): string {
  const doc = {
    keys: keys.map((k) => ({
      id: k.id,
      instance: k.instance,
      kind: k.kind,
      scopes: k.scopes,
      owner: k.owner,
      purpose: k.purpose,
      ...(k.rotation ? { rotation: k.rotation } : {}),
      labels: k.labels,
      fingerprint: k.fingerprint,
      status: k.status,
    })),
  };
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  return `# tuskguard key inventory, redacted: token, client_id and client_secret are not included.\n${stringify(doc)}`;
}
