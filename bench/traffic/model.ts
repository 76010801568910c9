/**
 * The traffic model's vocabulary: requests, keys with their purpose profile and stable origins,
 * the benign changes a key may go through (the hard negatives), and local time.
 */
export const SEC = 1_000;
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** One request as the proxy logs it (rendered to an nginx-json line). */
export interface Req {
  /** Epoch ms. */
  t: number;
  ip: string;
  ua: string;
  method: string;
  /** Path and query, token already redacted as the njs module does. */
  uri: string;
  status: number;
  /** Key fingerprint, '' for a request without a token. */
  fp: string;
  bytes?: number;
}

export const PROFILES = [
  'poster-bot',
  'reader-bot',
  'office-app',
  'admin-tool',
  'phone-app',
  'night-batch',
  'stream-bot',
  'retired-integration',
  'web-session',
  'third-party-app',
] as const;
export type Profile = (typeof PROFILES)[number];

/** Where a key's requests come from. ASNs are private-use numbers (RFC 6996); they are visible in logs only through an ASN database. */
export interface Origin {
  ip: string;
  /** The /24 the enricher derives (`source.network`). */
  network: string;
  asn: number;
  asName: string;
  role: 'hosting' | 'office' | 'home' | 'carrier';
}

/** Benign changes during the week: the hard negatives, and a retired key going quiet. */
export interface KeyChanges {
  /** Traffic multiplied by `factor` in [from, to) (planned growth). */
  growth?: { from: number; to: number; factor: number };
  /** From `at`, the primary origin's address becomes `ip` (same /24: a server move). */
  move?: { at: number; ip: string };
  /** From `at`, the client identifies as `ua` (same family, new version). */
  upgrade?: { at: number; ua: string };
  /** No benign traffic from `at` (the key was revoked and its consumer retired). */
  stopAt?: number;
}

export interface KeySpec {
  id: string;
  profile: Profile;
  /** In keys.yaml (managed by tuskguard) or an instance user's own token (unmanaged). */
  managed: boolean;
  kind: 'user' | 'app';
  scopes: string[];
  owner: string;
  purpose: string;
  token: string;
  fp: string;
  clientId: string;
  clientSecret: string;
  /** Hours from UTC of the people or schedule behind the key. */
  tz: number;
  ua: string;
  /** origins[0] is the primary one. */
  origins: Origin[];
  /** Profile parameters (periods, rates), drawn once per key. */
  p: Record<string, number>;
  changes: KeyChanges;
}

/** The local hour (0-23) of `t` for a key `tz` hours from UTC. */
export function localHour(t: number, tz: number): number {
  return (((Math.floor(t / HOUR) + tz) % 24) + 24) % 24;
}

/** Day of week, local (0 = Sunday). */
export function localDow(t: number, tz: number): number {
  return new Date(t + tz * HOUR).getUTCDay();
}

export function isWeekend(t: number, tz: number): boolean {
  const d = localDow(t, tz);
  return d === 0 || d === 6;
}

/** Epoch ms of local midnight starting the local day that contains `t`. */
export function localMidnight(t: number, tz: number): number {
  return Math.floor((t + tz * HOUR) / DAY) * DAY - tz * HOUR;
}

/** Local days (their midnights) overlapping [from, to). */
export function localDays(from: number, to: number, tz: number): number[] {
  const out: number[] = [];
  for (let d = localMidnight(from, tz); d < to; d += DAY) out.push(d);
  return out;
}

/** The key's traffic multiplier at t (2 during a planned-growth day). */
export function rateAt(k: KeySpec, t: number): number {
  const g = k.changes.growth;
  return g && t >= g.from && t < g.to ? g.factor : 1;
}

export function uaAt(k: KeySpec, t: number): string {
  const u = k.changes.upgrade;
  return u && t >= u.at ? u.ua : k.ua;
}

/** Address of origin `o` at t; the primary origin follows a server move. */
export function ipAt(k: KeySpec, o: Origin, t: number): string {
  const m = k.changes.move;
  return m && o === k.origins[0] && t >= m.at ? m.ip : o.ip;
}

/** Whether the key's own (benign) consumer still runs at t. */
export function alive(k: KeySpec, t: number): boolean {
  return k.changes.stopAt === undefined || t < k.changes.stopAt;
}

export function networkOf(ip: string): string {
  return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
}
