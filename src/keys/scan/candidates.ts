/**
 * Token candidates in text. A Mastodon token is `SecureRandom.urlsafe_base64(32)`: 43
 * characters of base64url with no prefix (FACTS.md §3), so any such run bounded by
 * non-base64url characters is a candidate. Pure; no I/O.
 */

/** A 43-character base64url run not part of a longer one (lookarounds: `\b` treats `-` as a boundary). */
const CANDIDATE_RE = /(?<![A-Za-z0-9_-])(?<token>[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/g;

export interface Candidate {
  /** The raw value. Callers fingerprint it and must not let it leave the scanner. */
  value: string;
  /** Character offset in the text. */
  index: number;
  /** 1-based line and column. */
  line: number;
  column: number;
}

/** Offsets of line starts, for offset → line lookups by binary search. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

export function lineOf(starts: readonly number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

export function findCandidates(text: string, starts: readonly number[] = lineStarts(text)): Candidate[] {
  const out: Candidate[] = [];
  for (const m of text.matchAll(CANDIDATE_RE)) {
    const index = m.index;
    const line = lineOf(starts, index);
    out.push({ value: m.groups!.token!, index, line, column: index - starts[line - 1]! + 1 });
  }
  return out;
}

/**
 * Random 256-bit values in base64url almost always mix upper case, lower case and digits
 * (P(no digit in 43 chars) ≈ 0.07%); identifiers and words of that length rarely do. Used
 * only for unmanaged guesses: managed tokens are matched exactly whatever they look like.
 */
export function looksRandom(value: string): boolean {
  return /[A-Z]/.test(value) && /[a-z]/.test(value) && /[0-9]/.test(value);
}
