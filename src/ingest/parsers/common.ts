import { isIP } from 'node:net';
import { redactQuery } from '../../core/redact.js';
import type { ParseContext } from '../types.js';

/**
 * Helpers shared by the parsers. All pure: no I/O, no clock.
 */

/**
 * Longest line a parser looks at (characters). Sources dead-letter longer lines before parsing
 * (`max_line_bytes`); this guard keeps a parser's cost bounded when called directly.
 */
export const MAX_LINE_CHARS = 65_536;

export interface SplitUri {
  path: string;
  /** Without the leading `?`; undefined when the URI had no query. */
  query: string | undefined;
}

/** `/a/b?x=1` → path `/a/b`, query `x=1`. A fragment is never sent by clients; it is kept. */
export function splitUri(uri: string): SplitUri {
  const q = uri.indexOf('?');
  if (q === -1) return { path: uri, query: undefined };
  return { path: uri.slice(0, q), query: uri.slice(q + 1) };
}

const TOKEN_PARAM = /(?:^|[&;])access_token=(?<value>[^&;#]*)/i;
const REDACTED = '[REDACTED]';

export interface ScrubbedQuery {
  /** The query with every `access_token` value replaced by `[REDACTED]`. */
  query: string;
  /** Fingerprint of the first token found, when a fingerprinter is available. */
  fingerprint: string | undefined;
}

/**
 * Remove any `access_token` value from a query string, fingerprinting the first one first.
 * The raw token lives only in local variables here; it never reaches the event.
 */
export function scrubQuery(query: string, ctx: ParseContext): ScrubbedQuery {
  // Cheap pre-check: the regex runs only on the rare queries that can carry a token.
  if (!/access_token/i.test(query)) return { query, fingerprint: undefined };
  const m = TOKEN_PARAM.exec(query);
  let fingerprint: string | undefined;
  const raw = m?.groups?.value;
  if (raw && raw !== REDACTED && ctx.fingerprint) fingerprint = ctx.fingerprint(decodeOrKeep(raw));
  return { query: redactQuery(query), fingerprint };
}

function decodeOrKeep(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return value;
  }
}

const MS_SUFFIX = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);
const SECONDS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
/** Years 0000-9999, where toISOString has its fixed-width form. */
const MIN_FIXED = -62_167_219_200_000;
const MAX_FIXED = 253_402_300_799_999;
let cachedMinute = Number.NaN;
let cachedPrefix = '';

/**
 * ISO 8601 UTC with milliseconds (`2026-11-02T14:03:05.123Z`), or undefined for a non-finite or
 * out-of-range time. Lines of one log come from the same few minutes, so the
 * `YYYY-MM-DDTHH:MM:` part of the previous minute is reused: formatting a Date was the largest
 * single cost of a parse. (UTC has no leap seconds in JavaScript time, so every minute has 60.)
 */
export function isoFromMs(ms: number): string | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  const whole = Math.floor(ms);
  if (whole < MIN_FIXED || whole > MAX_FIXED) return new Date(whole).toISOString();
  const minute = Math.floor(whole / 60_000);
  if (minute !== cachedMinute) {
    cachedPrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
    cachedMinute = minute;
  }
  const inMinute = whole - minute * 60_000;
  const second = Math.floor(inMinute / 1000);
  return cachedPrefix + (SECONDS[second] as string) + (MS_SUFFIX[inMinute - second * 1000] as string);
}

/** True for an IPv4 or IPv6 address in text form. */
export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0;
}

/** First address of an X-Forwarded-For value, when it is an IP address. */
export function firstForwardedFor(xff: string): string | undefined {
  if (xff === '' || xff === '-') return undefined;
  const comma = xff.indexOf(',');
  const first = (comma === -1 ? xff : xff.slice(0, comma)).trim();
  return isIpAddress(first) ? first : undefined;
}

/** Seconds (nginx `$request_time`) → nanoseconds (ECS `event.duration`). */
export function secondsToNs(seconds: number): number {
  return Math.round(seconds * 1e9);
}

/** Milliseconds (Mastodon `duration=`) → nanoseconds. */
export function msToNs(ms: number): number {
  return Math.round(ms * 1e6);
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    n = n * 10 + c;
  }
  return n;
}

/**
 * `$time_local` (`17/May/2015:10:05:03 +0000`) → epoch ms, or NaN when malformed. Read by fixed
 * positions: the format is fixed-width, and this runs once per combined line.
 */
export function parseTimeLocal(text: string): number {
  if (text.length !== 26 || text[2] !== '/' || text[6] !== '/' || text[11] !== ':' || text[20] !== ' ') return NaN;
  const month = MONTHS[text.slice(3, 6)];
  if (month === undefined) return Number.NaN;
  const sign = text[21] === '-' ? -1 : text[21] === '+' ? 1 : 0;
  const offsetMin = sign * (digits(text, 22, 2) * 60 + digits(text, 24, 2));
  const day = digits(text, 0, 2);
  const utc = Date.UTC(digits(text, 7, 4), month, day, digits(text, 12, 2), digits(text, 15, 2), digits(text, 18, 2));
  if (sign === 0 || day < 1 || day > 31) return Number.NaN;
  return utc - offsetMin * 60_000;
}

/**
 * Ruby Logger's `2026-11-02T14:03:05.123456` (no offset; read as UTC) → epoch ms, or NaN.
 * PREFIX_RE has already checked the digit layout; this checks the ranges. Fixed positions:
 * Date.parse was most of a Mastodon line's parse time.
 */
export function parseLoggerTime(text: string): number {
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN;
  let ms = 0;
  if (text[19] === '.') {
    // Up to three fraction digits count; Ruby writes six.
    for (let i = 20, scale = 100; i < 23 && i < text.length; i++, scale /= 10) ms += (text.charCodeAt(i) - 48) * scale;
  }
  return Date.UTC(digits(text, 0, 4), month - 1, day, hour, minute, second, ms);
}
