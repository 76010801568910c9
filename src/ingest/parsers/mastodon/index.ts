import { parseError, type Event, type ParseError } from '../../../core/event.js';
import { redactSecrets } from '../../../core/redact.js';
import type { ParseContext, ParserEntry } from '../../types.js';
import { MAX_LINE_CHARS, isIpAddress, isoFromMs, msToNs, parseLoggerTime, scrubQuery, splitUri } from '../common.js';
import { eventIdFor } from '../id.js';
import { parseKeyValues } from './key-values.js';

/**
 * `mastodon` (shared/formats/LOG-FORMAT.md §3, shared/mastodon/FACTS.md §8): Mastodon's Rails
 * log — Ruby `Logger::Formatter` prefix, the `[request-id]` tag, then either a lograge
 * key=value request line or a Rack::Attack `Rate limit hit (throttle|blocklist): …` line.
 *
 * Logger::Formatter writes local time without an offset; Mastodon's containers run in UTC, so
 * the time is read as UTC. Other well-formed log lines (warnings, job output) are returned as
 * ParseError `not-a-request`: well-formed, but not a request, so the pipeline can count them
 * apart from genuinely malformed lines (`no-match`).
 */
const PREFIX_RE =
  /^(?<severity>[DIWEFAU]), \[(?<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?) #(?<pid>\d+)\] +(?<level>[A-Z]+) -- (?<progname>[^:]*): (?:\[(?<rid>[\w@-]{1,255})\] )?(?<message>.*)$/;

/** Rack::Attack's logger (config/initializers/rack_attack_logging.rb); fullpath keeps the query. */
const RACK_ATTACK_RE = /^Rate limit hit \((?<kind>throttle|blocklist)\): (?<ip>\S+) (?<method>[A-Z]+) (?<fullpath>\S+)$/;

/** Parse one Mastodon log line. */
export function parseMastodon(line: string, ctx: ParseContext): Event | ParseError {
  if (line.length > MAX_LINE_CHARS) return parseError('line-too-long', `line has ${line.length} characters`);
  const g = PREFIX_RE.exec(line)?.groups;
  if (!g) return parseError('no-match', 'no Ruby Logger prefix (`I, [time #pid]  INFO -- : `)');
  const time = isoFromMs(parseLoggerTime(g.time as string));
  if (time === undefined) return parseError('invalid-time', 'time in the Logger prefix is not valid');
  const message = g.message as string;
  const rid = g.rid;
  if (message.startsWith('method=')) return fromLograge(message, { time, rid, line, ctx });
  if (message.startsWith('Rate limit hit (')) return fromRackAttack(message, { time, rid, line, ctx });
  return parseError('not-a-request', 'Mastodon log line that is neither a lograge request nor a Rack::Attack line');
}

interface Prefix {
  time: string;
  rid: string | undefined;
  line: string;
  ctx: ParseContext;
}

function base(p: Prefix, content: string): Event {
  const event: Event = {
    '@timestamp': p.time,
    'event.id': eventIdFor(p.rid, content, p.ctx.duplicateIndex),
    'event.dataset': 'mastodon',
  };
  if (p.rid !== undefined) event['http.request.id'] = p.rid;
  if (p.ctx.origin) event['log.file.path'] = p.ctx.origin;
  return event;
}

const NUMBER_FIELDS = [
  ['duration', 'mastodon.duration_ms'],
  ['db', 'mastodon.db_ms'],
  ['view', 'mastodon.view_ms'],
] as const;

function fromLograge(message: string, p: Prefix): Event | ParseError {
  const parsed = parseKeyValues(message);
  if ('kind' in parsed) return parsed;
  const kv = parsed.values;
  const method = kv.method;
  const path = kv.path;
  if (!method) return parseError('missing-field', 'lograge line has no method=');
  if (!path) return parseError('missing-field', 'lograge line has no path=');
  const event = base(p, p.line);
  event['http.request.method'] = method;
  // lograge strips the query string; split anyway in case a site changed that.
  const uri = splitUri(path);
  event['url.path'] = uri.path;
  if (uri.query !== undefined) {
    const scrubbed = scrubQuery(uri.query, p.ctx);
    event['url.query'] = scrubbed.query;
    if (scrubbed.fingerprint) event['tuskguard.fingerprint'] = scrubbed.fingerprint;
    if (scrubbed.query !== uri.query) event['event.id'] = eventIdFor(p.rid, redactSecrets(p.line), p.ctx.duplicateIndex);
  }
  if (kv.controller) event['mastodon.controller'] = kv.controller;
  if (kv.action) event['mastodon.action'] = kv.action;
  if (kv.status !== undefined) {
    if (!/^\d{3}$/.test(kv.status)) return parseError('wrong-type', 'field "status" is not a 3-digit status');
    event['http.response.status_code'] = Number(kv.status);
  }
  for (const [key, field] of NUMBER_FIELDS) {
    const raw = kv[key];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) return parseError('wrong-type', `field "${key}" is not a number`);
    event[field] = n;
  }
  if (event['mastodon.duration_ms'] !== undefined) event['event.duration'] = msToNs(event['mastodon.duration_ms']);
  return event;
}

function fromRackAttack(message: string, p: Prefix): Event | ParseError {
  const g = RACK_ATTACK_RE.exec(message)?.groups;
  if (!g) return parseError('no-match', 'Rack::Attack line is not `Rate limit hit (kind): ip METHOD path`');
  if (!isIpAddress(g.ip as string)) return parseError('wrong-type', 'Rack::Attack line: address is not an IP');
  const uri = splitUri(g.fullpath as string);
  const scrubbed = uri.query === undefined ? undefined : scrubQuery(uri.query, p.ctx);
  const tokenFound = scrubbed !== undefined && scrubbed.query !== uri.query;
  const event = base(p, tokenFound ? redactSecrets(p.line) : p.line);
  event['source.ip'] = g.ip as string;
  event['http.request.method'] = g.method as string;
  event['url.path'] = uri.path;
  if (scrubbed) event['url.query'] = scrubbed.query;
  if (scrubbed?.fingerprint) event['tuskguard.fingerprint'] = scrubbed.fingerprint;
  // The request never reached a controller; Rack::Attack answered it (429 throttled, 403 blocked).
  event['mastodon.controller'] = 'Rack::Attack';
  event['mastodon.action'] = g.kind as string;
  event['http.response.status_code'] = g.kind === 'throttle' ? 429 : 403;
  return event;
}

const TIME_RE = /^[DIWEFAU], \[(?<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?) #/;

/** The Logger prefix's time in ms, as parseMastodon reads it (for any Logger line), or NaN. */
export function mastodonTime(line: string): number {
  const time = TIME_RE.exec(line)?.groups?.time;
  return time === undefined ? Number.NaN : parseLoggerTime(time);
}

export const mastodon: ParserEntry = {
  id: 'mastodon',
  parse: parseMastodon,
  time: mastodonTime,
  description: "Mastodon's Rails request log (lograge key=value lines and Rack::Attack rate-limit lines)",
};
