import * as crypto from 'node:crypto';

/**
 * Deterministic event ids (see src/ingest/types.ts). The store uses `event.id` as its document
 * id, so a replay or a retried batch overwrites instead of duplicating:
 *
 * - a line with a request id gets an id derived from that request id alone, so the proxy line,
 *   the Mastodon line and the joined event of one request share it and the joined document
 *   overwrites a partial one;
 * - any other line gets a hash of its content (independent of where it came from: the same line
 *   pushed over HTTP and read from a file is one event) plus its ordinal among identical lines,
 *   so two genuine identical requests in the same second stay two events.
 *
 * SHA-256 through the one-shot `crypto.hash` (Node >= 20.12) runs at about 2.3 M ids/s here,
 * twice `createHash`; 22 base64url characters keep 132 bits, ample against collisions.
 */

type OneShot = (algorithm: string, data: string, encoding: 'base64url') => string;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

const digest: (data: string) => string = oneShot
  ? (data) => oneShot('sha256', data, 'base64url')
  : (data) => crypto.createHash('sha256').update(data).digest('base64url');

const ID_LENGTH = 22;

/**
 * The event id of a line. `requestId` wins when present (non-empty); otherwise `content` must be
 * the line's text with any credential already redacted, and `duplicateIndex` its ordinal among
 * identical lines (ParseContext.duplicateIndex).
 */
export function eventIdFor(requestId: string | undefined, content: string, duplicateIndex: number | (() => number) = 0): string {
  if (requestId) return digest(`r\u0000${requestId}`).slice(0, ID_LENGTH);
  const ordinal = typeof duplicateIndex === 'function' ? duplicateIndex() : duplicateIndex;
  return digest(`l\u0000${ordinal}\u0000${content}`).slice(0, ID_LENGTH);
}

/**
 * Computes ParseContext.duplicateIndex for a stream of lines: 0 for the first occurrence of a
 * line, 1 for the next identical one, and so on. Identical lines necessarily carry the same
 * timestamp, so a window of recent lines is enough; two identical lines at most `window` lines
 * apart always get distinct indices (two generations of counts are kept). The result depends
 * only on the order of lines, so replaying the same file from its start yields the same ids.
 */
export class DuplicateTracker {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private seen = 0;

  constructor(private readonly window = 10_000) {}

  /** The ordinal of this line among identical recent lines. */
  indexFor(line: string): number {
    this.tick();
    return this.count(line);
  }

  /**
   * The two halves of `indexFor`, for callers that need the ordinal of only some lines: `tick`
   * for every line (the window is counted in lines, so ids do not depend on which lines were
   * counted), then `count` at most once for a line whose ordinal is needed, before the next
   * `tick`. Identical lines are all counted or all not (the choice depends only on the text:
   * lines with a request id never use the ordinal), so their ordinals match `indexFor`'s.
   */
  tick(): void {
    if (++this.seen > this.window) {
      this.previous = this.current;
      this.current = new Map();
      this.seen = 1;
    }
  }

  count(line: string): number {
    const count = this.current.get(line) ?? this.previous.get(line) ?? 0;
    this.current.set(line, count + 1);
    return count;
  }
}
