/*
 * tuskguard njs module: the `fp` and `uri` fields of the `nginx-json` access log
 * (shared/formats/LOG-FORMAT.md §1).
 *
 *   fp  = first 32 hex chars of HMAC-SHA256(key = pepper, message = token), both UTF-8 — the
 *         same value as fingerprint() in src/core/fingerprint.ts; "" when the request carries
 *         no token or no usable pepper is configured.
 *   uri = $request_uri with every token parameter value replaced by [REDACTED].
 *
 * Written for njs 0.7.x (the njs engine in Debian 12's libnginx-mod-http-js 0.7.9) and kept to
 * the subset QuickJS-based njs also runs: ES5 plus `import`, no njs-only globals except `ngx`
 * objects passed in. On njs 0.7.x every request runs in a fresh clone of the VM, so module
 * variables live for one request only: "cached" and "logged once" below mean once per VM,
 * which is once per request there and once per worker on engines that reuse the VM.
 *
 * Nothing here ever logs, returns or throws a token or the pepper: errors are logged with
 * fixed text plus a file path or an error code, never a value read from the request.
 */
import crypto from 'crypto';
import fs from 'fs';

var REDACTED = '[REDACTED]';
/* Shortest pepper accepted, as src/core/fingerprint.ts loadPepper() requires for files. */
var PEPPER_MIN_CHARS = 16;
/* Form/JSON bodies longer than this are not searched for a token (bounded log-phase work). */
var MAX_BODY_CHARS = 1048576;
/* Parameter names Doorkeeper (Mastodon's OAuth) reads a token from, in its order. */
var TOKEN_PARAMS = ['access_token', 'bearer_token'];
/*
 * Query redaction (case-insensitive, names compared once percent-decoded). Values of parameters
 * whose name looks secret, as Mastodon's own filter_parameter_logging judges it (`token`,
 * `secret`, `passw`) plus the OAuth `code`: access_token, bearer_token, client_secret, …
 */
var SECRET_NAME = /token|secret|passw|^code(\[\])?$/i;
/* The bearer parameters are also looked for anywhere in a segment (see redactSegment). */
var MENTIONS_TOKEN = /(access|bearer)_token/i;
/* Cheap test for the fast path: a query that cannot hold any of the above. */
var MAYBE_SECRET = /token|secret|passw|code|%/i;

var vmState = { pepper: undefined, warned: false };

/* js_set $tuskguard_fp tuskguard.fp; */
function fp(r) {
  try {
    var token = requestToken(r);
    if (token === null) return '';
    var pepper = currentPepper(r);
    if (pepper === null) return '';
    return crypto.createHmac('sha256', pepper).update(token).digest('hex').slice(0, 32);
  } catch (e) {
    // The error name only: a message could quote part of the request.
    warnOnce(r, 'tuskguard: fingerprint failed (' + e.name + '); fp left empty');
    return '';
  }
}

/* js_set $tuskguard_uri tuskguard.uri; */
function uri(r) {
  var raw = '';
  try {
    raw = r.variables.request_uri || '';
    return redactUri(raw);
  } catch (e) {
    // Never fall back to the raw value: keep the path, drop the whole query.
    var q = raw.indexOf('?');
    return q === -1 ? raw : raw.slice(0, q + 1) + REDACTED;
  }
}

/* ---- redaction ---------------------------------------------------------------------------- */

function redactUri(raw) {
  var q = raw.indexOf('?');
  if (q === -1) return raw;
  var query = raw.slice(q + 1);
  if (!MAYBE_SECRET.test(query)) return raw;
  return raw.slice(0, q + 1) + redactQuery(query);
}

/* Both separators Rack has accepted (`&`, and `;` before Rack 3) are split on and kept. */
function redactQuery(query) {
  var parts = query.split(/([&;])/);
  for (var i = 0; i < parts.length; i += 2) parts[i] = redactSegment(parts[i]);
  return parts.join('');
}

/*
 * A secret-named parameter keeps its name as sent and loses its value (`access%5Ftoken=` →
 * `access%5Ftoken=[REDACTED]`). A segment that mentions a bearer parameter elsewhere is not a
 * token to Mastodon but may still carry one: `x=1access_token=…` and `=access_token=…` lose
 * the value, and a segment with no `=` or with an escaped `=` in its name (`access_token%3D…`)
 * goes whole.
 */
function redactSegment(segment) {
  var eq = segment.indexOf('=');
  var name = asciiDecode(eq === -1 ? segment : segment.slice(0, eq));
  var mentions = MENTIONS_TOKEN.test(eq === -1 ? name : asciiDecode(segment));
  if (eq === -1) return mentions ? REDACTED : segment;
  if (mentions && name.indexOf('=') !== -1) return REDACTED;
  if (mentions || SECRET_NAME.test(name)) return segment.slice(0, eq + 1) + REDACTED;
  return segment;
}

/*
 * Decodes only ASCII escapes and never fails: enough to see a parameter name however it is
 * escaped, even next to a malformed escape that would make decodeURIComponent throw.
 */
function asciiDecode(text) {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  return text.replace(/\+/g, ' ').replace(/%([0-7][0-9a-fA-F])/g, function (m, hex) {
    return String.fromCharCode(parseInt(hex, 16));
  });
}

/* application/x-www-form-urlencoded decoding as Rack does it; undecodable text is kept. */
function formDecode(text) {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch (e) {
    return text;
  }
}

/* ---- token extraction --------------------------------------------------------------------- */

/*
 * The token the request presents, in the order Mastodon looks: `Authorization: Bearer`, then
 * each Doorkeeper parameter in the query before the body (Rails lets the query win), then —
 * on the streaming API only — Sec-WebSocket-Protocol, where Mastodon's web client puts it.
 * null when there is none.
 */
function requestToken(r) {
  var token = bearerToken(r.headersIn['Authorization']);
  if (token !== null) return token;
  var query = queryString(r.variables.request_uri || '');
  var body;
  for (var i = 0; i < TOKEN_PARAMS.length; i++) {
    token = lastParam(query, TOKEN_PARAMS[i]);
    if (token !== null) return token;
    if (body === undefined) body = bodyParams(r);
    token = body === null ? null : body(TOKEN_PARAMS[i]);
    if (token !== null) return token;
  }
  return streamingProtocolToken(r);
}

/*
 * `Bearer <token>`: scheme case-insensitive, any whitespace around; other schemes ignored. A
 * token with inner whitespace or a comma is malformed (RFC 6750 b64token has neither; njs joins
 * a duplicated header with ","): no token from the header then.
 */
function bearerToken(header) {
  if (typeof header !== 'string') return null;
  var value = header.trim();
  if (value.length < 7 || value.slice(0, 6).toLowerCase() !== 'bearer') return null;
  if (!/\s/.test(value.charAt(6))) return null;
  var token = value.slice(7).trim();
  return token === '' || /[\s,]/.test(token) ? null : token;
}

function queryString(rawUri) {
  var q = rawUri.indexOf('?');
  return q === -1 ? '' : rawUri.slice(q + 1);
}

/* Value of the last `name=` parameter (Rack keeps the last duplicate), decoded; null if blank. */
function lastParam(encoded, name) {
  if (encoded === '') return null;
  var found = null;
  var parts = encoded.split(/[&;]/);
  for (var i = 0; i < parts.length; i++) {
    var eq = parts[i].indexOf('=');
    if (eq !== -1 && formDecode(parts[i].slice(0, eq)) === name) found = formDecode(parts[i].slice(eq + 1));
  }
  return found === '' ? null : found;
}

/*
 * A lookup over the body's parameters, or null when the body is not a form or JSON object or is
 * not in memory. nginx keeps a proxied body in memory when it fits client_body_buffer_size
 * (and proxy_request_buffering is on); a larger one is in a temp file, already gone at log time.
 */
function bodyParams(r) {
  var type = (r.headersIn['Content-Type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' && type !== 'application/json') return null;
  var text = requestBody(r);
  if (text === null) return null;
  if (type === 'application/x-www-form-urlencoded') {
    return function (name) {
      return lastParam(text, name);
    };
  }
  var object = parseJsonObject(text);
  if (object === null) return null;
  return function (name) {
    var value = object[name];
    return typeof value === 'string' && value !== '' ? value : null;
  };
}

function requestBody(r) {
  var text;
  try {
    text = r.requestText; // throws "request body is in a file" for a body past the buffer
  } catch (e) {
    return null;
  }
  if (typeof text !== 'string' || text === '' || text.length > MAX_BODY_CHARS) return null;
  return text;
}

function parseJsonObject(text) {
  try {
    var value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch (e) {
    return null;
  }
}

function streamingProtocolToken(r) {
  if ((r.variables.uri || '').indexOf('/api/v1/streaming') !== 0) return null;
  var header = r.headersIn['Sec-WebSocket-Protocol'];
  if (typeof header !== 'string') return null;
  var token = header.trim();
  return token === '' ? null : token;
}

/* ---- pepper ------------------------------------------------------------------------------- */

/* The pepper, or null (error logged once per VM) when none usable is configured. */
function currentPepper(r) {
  if (vmState.pepper === undefined) vmState.pepper = loadPepper();
  if (vmState.pepper.error) {
    warnOnce(r, vmState.pepper.error);
    return null;
  }
  return vmState.pepper.value;
}

/*
 * Sources, first configured wins; a configured but broken source is an error, never a reason
 * to try the next one (that would silently fingerprint with a different secret):
 *   1. js_preload_object tuskguard_pepper — a JSON string read by the nginx master at start
 *      (the file can be root-only; nginx refuses to start when it is missing);
 *   2. TUSKGUARD_PEPPER_FILE — a plain-text file (same format as tuskguard's pepper_file),
 *      read by the worker;
 *   3. TUSKGUARD_PEPPER — the environment (needs `env TUSKGUARD_PEPPER;` in nginx.conf).
 */
function loadPepper() {
  if (typeof tuskguard_pepper !== 'undefined') {
    var preloaded = tuskguard_pepper;
    if (typeof preloaded !== 'string') {
      return { error: 'tuskguard: js_preload_object tuskguard_pepper must hold a JSON string; fp left empty' };
    }
    return checkPepper(preloaded, 'js_preload_object tuskguard_pepper');
  }
  var file = process.env.TUSKGUARD_PEPPER_FILE;
  if (file) return readPepperFile(file);
  var value = process.env.TUSKGUARD_PEPPER;
  if (value) return checkPepper(value, 'TUSKGUARD_PEPPER');
  return {
    error:
      'tuskguard: no fingerprint pepper configured (js_preload_object tuskguard_pepper, ' +
      'env TUSKGUARD_PEPPER_FILE or env TUSKGUARD_PEPPER); fp left empty',
  };
}

function readPepperFile(file) {
  var text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { error: 'tuskguard: cannot read pepper file ' + file + ' (' + (e.code || e.name) + '); fp left empty' };
  }
  return checkPepper(text, 'pepper file ' + file);
}

function checkPepper(text, source) {
  var value = String(text).trim();
  if (value.length < PEPPER_MIN_CHARS) {
    return {
      error: 'tuskguard: ' + source + ' is shorter than ' + PEPPER_MIN_CHARS + ' characters; fp left empty',
    };
  }
  return { value: value };
}

function warnOnce(r, message) {
  if (vmState.warned) return;
  vmState.warned = true;
  r.error(message);
}

export default { fp: fp, uri: uri };
