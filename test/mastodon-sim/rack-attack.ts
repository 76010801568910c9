import { throttleableIp } from './ip.js';
import type { SimRequest, SimResponse } from './http.js';
import type { SimToken } from './model.js';
import { THROTTLE_NAMES, type SimOptions, type ThrottleName } from './options.js';

/**
 * Rack::Attack as Mastodon configures it: a `no_access` IP blocklist, then fixed-window
 * throttles (window = floor(epoch seconds / period)); the first throttle whose count exceeds its
 * limit answers 429 and later throttles do not count the request. Revoked tokens count too.
 */

export interface ThrottleData {
  readonly limit: number;
  readonly count: number;
  readonly period: number;
}

export type AttackVerdict =
  | { kind: 'pass'; data: Map<ThrottleName, ThrottleData> }
  | { kind: 'blocklist' }
  | { kind: 'throttle'; match: ThrottleData };

interface Who {
  token: SimToken | null;
  ip: string;
}

type Discriminator = (req: SimRequest, who: Who) => string | null;

const isApi = (req: SimRequest): boolean => req.path.startsWith('/api');
const userId = (who: Who): string | null => (who.token?.userId == null ? null : `u${who.token.userId}`);
const paging = (req: SimRequest): boolean =>
  ['page', 'min_id', 'max_id', 'since_id'].some((k) => req.params[k] !== undefined && req.params[k] !== '');
const DELETE_RE = /^\/api\/v1\/statuses\/\d+$/;
const UNREBLOG_RE = /^\/api\/v1\/statuses\/\d+\/unreblog$/;

const DISCRIMINATORS: Record<ThrottleName, Discriminator> = {
  throttle_authenticated_api: (req, who) => (isApi(req) ? userId(who) : null),
  throttle_per_token_api: (req, who) => (isApi(req) && who.token ? `t${who.token.id}` : null),
  throttle_unauthenticated_api: (req, who) => (isApi(req) && userId(who) === null ? throttleableIp(who.ip) : null),
  throttle_api_media: (req, who) => (req.method === 'POST' && /^\/api\/v\d+\/media$/i.test(req.path) ? userId(who) : null),
  throttle_api_sign_up: (req, who) => (req.method === 'POST' && req.path === '/api/v1/accounts' ? throttleableIp(who.ip) : null),
  throttle_authenticated_paging: (req, who) => (paging(req) ? userId(who) : null),
  throttle_unauthenticated_paging: (req, who) => (paging(req) && userId(who) === null ? throttleableIp(who.ip) : null),
  throttle_api_delete: (req, who) =>
    (req.method === 'POST' && UNREBLOG_RE.test(req.path)) || (req.method === 'DELETE' && DELETE_RE.test(req.path))
      ? userId(who)
      : null,
  'throttle_oauth_application_registrations/ip': (req, who) =>
    req.method === 'POST' && req.path === '/api/v1/apps' ? throttleableIp(who.ip) : null,
};

export class RackAttack {
  private readonly counts = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly options: SimOptions,
    private readonly isBlocked: (ip: string) => boolean,
  ) {}

  private safelisted(ip: string): boolean {
    return this.options.safelistLocalhost && (ip === '127.0.0.1' || ip === '::1');
  }

  check(req: SimRequest, who: Who): AttackVerdict {
    const data = new Map<ThrottleName, ThrottleData>();
    if (this.safelisted(who.ip)) return { kind: 'pass', data };
    if (this.isBlocked(who.ip)) return { kind: 'blocklist' };
    const nowS = Math.floor(this.options.clock.now() / 1000);
    this.prune(nowS);
    for (const name of THROTTLE_NAMES) {
      const disc = DISCRIMINATORS[name](req, who);
      if (disc === null) continue;
      const { limit, periodSeconds } = this.options.throttles[name];
      const key = `${name}:${Math.floor(nowS / periodSeconds)}:${disc}`;
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      const entry = { limit, count, period: periodSeconds };
      data.set(name, entry);
      if (count > limit) return { kind: 'throttle', match: entry };
    }
    return { kind: 'pass', data };
  }

  /** Drop counters of windows that have ended (keys carry their window number). */
  private prune(nowS: number): void {
    if (nowS - this.lastPrune < 60) return;
    this.lastPrune = nowS;
    for (const key of this.counts.keys()) {
      const [name, window] = key.split(':') as [ThrottleName, string];
      const period = this.options.throttles[name]?.periodSeconds ?? 1;
      if (Number(window) < Math.floor(nowS / period)) this.counts.delete(key);
    }
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Ruby `Time#iso8601(6)` for a UTC time: `2026-08-21T09:15:00.123000Z`. */
export function iso8601Micro(ms: number): string {
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${date}T${time}.${pad(d.getUTCMilliseconds(), 3)}000Z`;
}

/** `now + (period - now.to_i % period)`: the end of the current window, keeping the sub-second part. */
export function resetAt(nowMs: number, period: number): string {
  const nowS = Math.floor(nowMs / 1000);
  return iso8601Micro(nowMs + (period - (nowS % period)) * 1000);
}

/** Mastodon's `throttled_responder`. */
export function throttledResponse(match: ThrottleData, nowMs: number): SimResponse {
  return {
    status: 429,
    body: { error: 'Too many requests' },
    headers: {
      'x-ratelimit-limit': String(match.limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': resetAt(nowMs, match.period),
    },
  };
}

/** Rack::Attack's default blocklisted responder: not JSON. */
export function blocklistedResponse(): SimResponse {
  return { status: 403, text: 'Forbidden\n', contentType: 'text/plain' };
}

/** Api::RateLimitHeaders: the most constrained throttle that counted this request. */
export function rateLimitHeaders(data: Map<ThrottleName, ThrottleData>, nowMs: number): Record<string, string> {
  let best: ThrottleData | null = null;
  for (const d of data.values()) if (!best || d.limit - d.count < best.limit - best.count) best = d;
  if (!best) return {};
  return {
    'x-ratelimit-limit': String(best.limit),
    'x-ratelimit-remaining': String(best.limit - best.count),
    'x-ratelimit-reset': resetAt(nowMs, best.period),
  };
}
