import { parseError, type ParseError } from '../../../core/event.js';

/**
 * lograge's key=value formatter (lograge 0.15 `Formatters::KeyValue`): `key=value` pairs joined
 * by single spaces; a string value containing a space is wrapped in single quotes *without
 * escaping*, so `error='ActiveRecord::RecordNotFound: Couldn't find Status'` is legal. A quoted
 * value therefore ends at the first `'` followed by ` key=` or by the end of the line.
 */

/** Next key must look like this (sticky: tested at one position, never scanning ahead). */
const NEXT_KEY = /[a-z_]+=/y;
const KEY_RE = /^[a-z_][a-z0-9_]*$/;

export type KeyValues = Record<string, string | undefined>;

export function parseKeyValues(message: string): { values: KeyValues } | ParseError {
  const out: KeyValues = {};
  let i = 0;
  const n = message.length;
  while (i < n) {
    const eq = message.indexOf('=', i);
    if (eq === -1) return parseError('no-match', `lograge: text without key=value at column ${i + 1}`);
    const key = message.slice(i, eq);
    if (!KEY_RE.test(key)) return parseError('no-match', `lograge: invalid key at column ${i + 1}`);
    let end: number;
    if (message.charCodeAt(eq + 1) === 39 /* ' */) {
      end = closingQuote(message, eq + 2);
      out[key] = message.slice(eq + 2, end);
      end = Math.min(end + 1, n);
    } else {
      end = message.indexOf(' ', eq + 1);
      if (end === -1) end = n;
      out[key] = message.slice(eq + 1, end);
    }
    i = end;
    while (message.charCodeAt(i) === 32) i++;
  }
  return { values: out };
}

/** Index of the `'` closing a value that starts at `from`; the line's end when unterminated. */
function closingQuote(text: string, from: number): number {
  let j = text.indexOf("'", from);
  while (j !== -1) {
    if (j + 1 === text.length) return j;
    if (text.charCodeAt(j + 1) === 32) {
      NEXT_KEY.lastIndex = j + 2;
      if (NEXT_KEY.test(text)) return j;
    }
    j = text.indexOf("'", j + 1);
  }
  return text.length;
}
