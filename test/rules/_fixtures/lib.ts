import { createHash } from 'node:crypto';

/**
 * Building blocks for the rule fixtures: requests rendered as nginx-json lines exactly as the
 * tuskguard log_format writes them (shared/formats/LOG-FORMAT.md §1), deterministic schedules,
 * and made-up fingerprints (no real token exists behind them).
 */
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const at = (iso: string): number => Date.parse(iso);

export interface Req {
  t: number;
  ip: string;
  ua: string;
  uri: string;
  method?: string;
  status?: number;
  bytes?: number;
  /** Key name; its fingerprint is fpOf(name). Absent: no token. */
  key?: string;
}

/** A key record as `keys list --output json` prints it (the subset detection reads). */
export interface KeyRecord {
  id: string;
  fingerprint: string;
  status?: string;
  status_changed_at?: string;
  scopes?: string[];
  previous_fingerprints?: Array<{ fingerprint: string; retired_at: string }>;
}

export interface Scenario {
  reqs: Req[];
  keys?: KeyRecord[];
}

/** The fingerprint a fixture key name stands for. */
export function fpOf(name: string): string {
  return createHash('sha256').update(`tuskguard-fixture-key:${name}`).digest('hex').slice(0, 32);
}

/** Requests every `step` ms in [from, to), where `make` returns some (or null to skip). */
export function every(from: number, to: number, step: number, make: (t: number, i: number) => Req | Req[] | null): Req[] {
  const out: Req[] = [];
  for (let t = from, i = 0; t < to; t += step, i++) {
    const r = make(t, i);
    if (Array.isArray(r)) out.push(...r);
    else if (r) out.push(r);
  }
  return out;
}

/** Monday-Friday, `fromHour` ≤ UTC hour < `toHour`. */
export function workingHours(t: number, fromHour = 9, toHour = 17): boolean {
  const d = new Date(t);
  const dow = d.getUTCDay();
  return dow >= 1 && dow <= 5 && d.getUTCHours() >= fromHour && d.getUTCHours() < toHour;
}

function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

/** nginx-json lines in event-time order (stable for equal times). */
export function render(name: string, reqs: Req[]): string {
  const sorted = reqs.map((r, i) => ({ r, i })).sort((a, b) => a.r.t - b.r.t || a.i - b.i);
  return sorted
    .map(({ r }, n) => {
      const line = {
        ts: new Date(Math.floor(r.t / 1000) * 1000).toISOString().replace('.000Z', '+00:00'),
        msec: r.t / 1000,
        ip: r.ip,
        xff: '',
        rid: hex(`${name}:${n}`),
        host: 'social.example',
        method: r.method ?? 'GET',
        uri: r.uri,
        status: r.status ?? 200,
        bytes: r.bytes ?? 2048,
        rt: 0.042,
        ua: r.ua,
        fp: r.key ? fpOf(r.key) : '',
      };
      return JSON.stringify(line);
    })
    .join('\n')
    .concat('\n');
}

export const UA = {
  bot: 'tuskbot/1.4 (+https://bots.example)',
  tusky: 'Tusky/25.2 Android/14',
  tuskyNew: 'Tusky/26.0 Android/15',
  feed: 'feedreader/3.1',
  modTool: 'modtool/2.0 (+https://mod.example)',
  python: 'python-requests/2.31.0',
  curl: 'curl/8.5.0',
  ivory: 'Ivory/2.4 (iOS 18.1)',
} as const;

export const ROUTE = {
  home: '/api/v1/timelines/home?limit=40',
  notifications: '/api/v1/notifications',
  verify: '/api/v1/accounts/verify_credentials',
  statuses: '/api/v1/statuses',
  status: (id: number) => `/api/v1/statuses/${id}`,
  accountStatuses: (id: number) => `/api/v1/accounts/${id}/statuses?limit=40`,
  favourite: (id: number) => `/api/v1/statuses/${id}/favourite`,
  adminReports: '/api/v1/admin/reports',
  adminAccount: (id: number) => `/api/v1/admin/accounts/${id}`,
  adminAction: (id: number) => `/api/v1/admin/accounts/${id}/action`,
} as const;
