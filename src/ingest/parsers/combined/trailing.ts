/**
 * Extra fields after the user agent of a combined line. Sites append them in two styles, and
 * both are read: `key=value` / `key="value"` / `"key=value"` tokens, and bare quoted values
 * (`"0.084"`), which carry no name and are skipped. Recognised keys:
 *
 *   `rid` / `request_id`      request id (joins the Mastodon line)
 *   `fp`                      key fingerprint from the njs module
 *   `rt` / `request_time`     request time in seconds
 *   `host`                    virtual host
 *
 * A scanner rather than a regex: the tail is free-form and this keeps it linear and allocation-light.
 */
export interface Trailing {
  rid: string | undefined;
  fp: string | undefined;
  rt: number | undefined;
  host: string | undefined;
}

const EMPTY: Trailing = Object.freeze({ rid: undefined, fp: undefined, rt: undefined, host: undefined });

export function parseTrailing(rest: string): Trailing {
  if (rest.length === 0) return EMPTY;
  const out: Trailing = { ...EMPTY };
  let i = 0;
  while (i < rest.length) {
    while (rest.charCodeAt(i) === 32) i++;
    if (i >= rest.length) break;
    const end = tokenEnd(rest, i);
    assign(out, rest.slice(i, end));
    i = end;
  }
  return out;
}

/** End of the token starting at `i`: a space outside quotes, or the end of the line. */
function tokenEnd(text: string, i: number): number {
  let quoted = false;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92 /* \ */ && quoted) j++;
    else if (c === 34 /* " */) quoted = !quoted;
    else if (c === 32 && !quoted) return j;
  }
  return text.length;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function assign(out: Trailing, raw: string): void {
  // `"rid=abc"` is read like `rid=abc`; a bare quoted value has no `=` and is skipped.
  const token = raw.startsWith('"') ? unquote(raw) : raw;
  const eq = token.indexOf('=');
  if (eq <= 0) return;
  const key = token.slice(0, eq);
  const value = unquote(token.slice(eq + 1));
  if (value === '' || value === '-') return;
  switch (key) {
    case 'rid':
    case 'request_id':
      out.rid = value;
      return;
    case 'fp':
      out.fp = value;
      return;
    case 'rt':
    case 'request_time': {
      const n = Number(value);
      if (Number.isFinite(n) && n >= 0) out.rt = n;
      return;
    }
    case 'host':
      out.host = value;
  }
}
