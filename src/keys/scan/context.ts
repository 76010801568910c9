import { looksRandom, type Candidate } from './candidates.js';

/**
 * Is an unmanaged 43-character candidate likely a Mastodon token? Mastodon tokens have no
 * prefix (FACTS.md §3), so only the context can tell: the name it is assigned to, a Bearer
 * header, Mastodon API paths and instance URLs nearby. Pure; each regex works on a bounded
 * slice so a hostile 10 kB line costs linear time.
 */

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

export interface ContextVerdict {
  confidence: Confidence | null;
  score: number;
  /** Secret-free reasons, e.g. `assigned to MASTODON_ACCESS_TOKEN`. */
  reasons: string[];
  /** Origin of an instance URL near the candidate, for `--verify`. */
  instance: string | null;
}

const BEFORE_CHARS = 200;
const WINDOW_LINES = 3;

const BEARER_RE = /Bearer\s{1,8}$/i;
const ASSIGN_RE = /(?<name>[A-Za-z_][A-Za-z0-9_.-]{0,63})["']?\s{0,8}(?:=>|:=|[:=])\s{0,8}["']?$/;
const MASTODON_NAME_RE = /mastodon|masto|toot|fedi|pleroma|akkoma|gotosocial/i;
const TOKEN_NAME_RE = /token|bearer|auth/i;
const SECRET_NAME_RE = /secret|key|passw|credential/i;
const API_PATH_RE = /\/api\/v[12]\/|\/oauth\/(?:token|revoke|authorize)\b/;
const MASTODON_WORD_RE = /\b(?:mastodon|masto|toot|fediverse)\b/i;
const URL_RE = /https?:\/\/(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?)/g;

function windowText(text: string, starts: readonly number[], line: number): string {
  const from = starts[Math.max(0, line - 1 - WINDOW_LINES)]!;
  const toLine = line + WINDOW_LINES;
  const to = toLine < starts.length ? starts[toLine]! : text.length;
  return text.slice(from, Math.min(to, from + 4_096 + 2 * BEFORE_CHARS));
}

function nameSignal(name: string): [number, string] | null {
  // A "name" that is itself random-looking may be another secret (`secret1:secret2`): never echo it.
  const shown = name.length >= 16 && looksRandom(name) ? '(a random-looking name)' : name;
  if (MASTODON_NAME_RE.test(name)) return [4, `assigned to ${shown}`];
  if (TOKEN_NAME_RE.test(name)) return [2, `assigned to ${shown}`];
  if (SECRET_NAME_RE.test(name)) return [1, `assigned to ${shown}`];
  return null;
}

function firstInstance(window: string): string | null {
  let fallback: string | null = null;
  for (const m of window.matchAll(URL_RE)) {
    const origin = `${m[0].startsWith('https') ? 'https' : 'http'}://${m.groups!.host!.toLowerCase()}`;
    const rest = window.slice(m.index + m[0].length, m.index + m[0].length + 16);
    if (rest.startsWith('/api/') || rest.startsWith('/oauth/')) return origin;
    fallback ??= origin;
  }
  return fallback;
}

export function classifyContext(text: string, starts: readonly number[], c: Candidate): ContextVerdict {
  const lineStart = starts[c.line - 1]!;
  const before = text.slice(Math.max(lineStart, c.index - BEFORE_CHARS), c.index);
  const window = windowText(text, starts, c.line).replace(c.value, '');
  const reasons: string[] = [];
  let score = 0;
  const add = (points: number, reason: string) => {
    score += points;
    reasons.push(reason);
  };
  if (BEARER_RE.test(before)) add(3, 'Bearer authorization');
  const name = ASSIGN_RE.exec(before)?.groups?.name;
  const signal = name === undefined ? null : nameSignal(name);
  if (signal) add(...signal);
  if (API_PATH_RE.test(window)) add(1, 'Mastodon API path nearby');
  if (MASTODON_WORD_RE.test(window)) add(1, 'mentions Mastodon nearby');
  const instance = firstInstance(window);
  if (instance) add(1, `instance URL nearby (${instance})`);
  const confidence: Confidence | null = score >= 4 ? 'high' : score === 3 ? 'medium' : score === 2 ? 'low' : null;
  return { confidence, score, reasons, instance };
}
