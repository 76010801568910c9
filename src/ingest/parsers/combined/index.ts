import { parseError, type Event, type ParseError } from '../../../core/event.js';
import { FINGERPRINT_RE } from '../../../core/fingerprint.js';
import { redactQuery, redactSecrets } from '../../../core/redact.js';
import type { ParseContext, ParserEntry } from '../../types.js';
import { MAX_LINE_CHARS, isIpAddress, isoFromMs, parseTimeLocal, secondsToNs } from '../common.js';
import { eventIdFor } from '../id.js';
import { applyRequestLine } from './request-line.js';
import { parseTrailing } from './trailing.js';

/**
 * `combined` (shared/formats/LOG-FORMAT.md §2), the nginx/Apache combined format:
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
 * optionally followed by extra fields (`rid=`, `fp=`, `rt=`/`request_time=`; see trailing.ts).
 *
 * Tolerant where servers really differ: a malformed request line (`"-"`, binary junk, no
 * protocol) still yields an event with what is known; `-` bytes (Apache's zero) → 0; the
 * referrer/user-agent pair may be missing (common format) and a last quote may be cut off.
 *
 * The quoted alternatives `[^"\\]` and `\\.` are disjoint, so matching is linear in the line
 * length (test/ingest/parsers/combined.test.ts runs it on a 10 kB hostile line).
 */
const LINE_RE =
  /^(?<ip>\S+) (?<ident>\S+) (?<user>\S+) \[(?<time>[^\]]*)\] "(?<request>(?:[^"\\]|\\.)*)" (?<status>\d{3}|-) (?<bytes>\d+|-)(?: "(?<referrer>(?:[^"\\]|\\.)*)" "(?<ua>(?:[^"\\]|\\.)*)(?:"|$))?(?<rest>.*)$/;

const TOKEN_HINT = /access_token/i;

/** Parse one combined-format line. */
export function parseCombined(line: string, ctx: ParseContext): Event | ParseError {
  if (line.length > MAX_LINE_CHARS) return parseError('line-too-long', `line has ${line.length} characters`);
  const g = LINE_RE.exec(line)?.groups;
  if (!g) return parseError('no-match', 'not in combined format (ip ident user [time] "request" status bytes ...)');
  // Stores index source.ip as an IP; Apache with HostnameLookups logs names instead.
  if (!isIpAddress(g.ip as string)) return parseError('wrong-type', 'remote address is not an IP address');
  const ms = parseTimeLocal(g.time as string);
  const time = isoFromMs(ms);
  if (time === undefined) return parseError('invalid-time', 'time is not like [17/May/2015:10:05:03 +0000]');
  const trailing = parseTrailing(g.rest as string);
  if (trailing.fp !== undefined && !FINGERPRINT_RE.test(trailing.fp)) {
    return parseError('wrong-type', 'field "fp" is not a fingerprint (32 lowercase hex characters)');
  }
  const hasToken = TOKEN_HINT.test(line);
  const event: Event = {
    '@timestamp': time,
    // A line carrying a raw token is hashed only after redaction.
    'event.id': eventIdFor(trailing.rid, hasToken ? redactSecrets(line) : line, ctx.duplicateIndex),
    'event.dataset': 'combined',
    'source.ip': g.ip as string,
  };
  applyRequestLine(event, g.request as string, ctx);
  if (g.status !== '-') event['http.response.status_code'] = Number(g.status);
  event['http.response.body.bytes'] = g.bytes === '-' ? 0 : Number(g.bytes);
  const referrer = g.referrer;
  if (referrer && referrer !== '-') event['http.request.referrer'] = hasToken ? redactQuery(redactSecrets(referrer)) : referrer;
  if (g.ua && g.ua !== '-') event['user_agent.original'] = g.ua;
  if (trailing.rid !== undefined) event['http.request.id'] = trailing.rid;
  if (trailing.fp !== undefined) event['tuskguard.fingerprint'] = trailing.fp;
  if (trailing.rt !== undefined) event['event.duration'] = secondsToNs(trailing.rt);
  if (trailing.host !== undefined) event['url.domain'] = trailing.host;
  if (ctx.origin) event['log.file.path'] = ctx.origin;
  return event;
}

/**
 * `[$time_local]` of a combined line in ms, as parseCombined reads it, or NaN. The three fields
 * before it are `\S+` separated by single spaces, so the time starts after the third space.
 */
export function combinedTime(line: string): number {
  let at = -1;
  for (let spaces = 0; spaces < 3; spaces++) {
    at = line.indexOf(' ', at + 1);
    if (at <= 0) return Number.NaN;
  }
  if (line.charCodeAt(at + 1) !== 91 /* [ */ || line.charCodeAt(at + 28) !== 93 /* ] */) return Number.NaN;
  return parseTimeLocal(line.slice(at + 2, at + 28));
}

export const combined: ParserEntry = {
  id: 'combined',
  parse: parseCombined,
  time: combinedTime,
  description: 'nginx/Apache combined format, optionally followed by rid=, fp=, rt= fields',
};
