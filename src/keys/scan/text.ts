import type { Fingerprinter } from '../../core/fingerprint.js';
import { findCandidates, lineStarts, looksRandom } from './candidates.js';
import { classifyContext, CONFIDENCES, type Confidence } from './context.js';

/**
 * One text (a file, a git blob, an environment variable) → leak findings. A finding names
 * where the token is and its fingerprint, never the token or any part of it; the raw value
 * travels next to the finding only as far as `--verify`, in a `Hit`.
 */

export type LeakSource = 'file' | 'git' | 'env';
export type LiveStatus = 'live' | 'dead' | 'unknown';

export interface LeakLocation {
  source: LeakSource;
  /** File path as reached from the given PATH; for git, the path inside `repo`; or `env:NAME`. */
  path: string;
  /** Git only: top level of the repository. */
  repo?: string;
  /** Git only: the commit that first introduced the blob. */
  commit?: string | null;
  /** Git only: the blob holding the token. */
  blob?: string;
}

export interface LeakFinding extends LeakLocation {
  line: number;
  column: number;
  fingerprint: string;
  /** The managed key with this fingerprint, else null. */
  key_id: string | null;
  managed: boolean;
  /** `exact` for a managed key; else how likely the context makes it a Mastodon token. */
  confidence: 'exact' | Confidence;
  reasons: string[];
  /** Instance the token belongs to: the key's own for managed keys, else a URL seen nearby. */
  instance: string | null;
  /** With `--verify`: whether the instance still accepts the token. */
  live?: LiveStatus;
  live_detail?: string;
}

/** A finding plus the raw value, for verification only; never printed or logged. */
export interface Hit {
  finding: LeakFinding;
  token: string;
}

export interface ManagedIndexEntry {
  id: string;
  instance: string;
}

export interface TextScannerOptions {
  fingerprint: Fingerprinter;
  /** fingerprint → managed key. */
  managed: ReadonlyMap<string, ManagedIndexEntry>;
  /** Unmanaged guesses below this are dropped. */
  minConfidence: Confidence;
}

export type TextScanner = (text: string, location: LeakLocation) => Hit[];

export function createTextScanner(options: TextScannerOptions): TextScanner {
  const floor = CONFIDENCES.indexOf(options.minConfidence);
  return (text, location) => {
    const starts = lineStarts(text);
    const hits: Hit[] = [];
    for (const c of findCandidates(text, starts)) {
      const fp = options.fingerprint(c.value);
      const key = options.managed.get(fp);
      const base = { ...location, line: c.line, column: c.column, fingerprint: fp };
      if (key) {
        hits.push({ token: c.value, finding: { ...base, key_id: key.id, managed: true, confidence: 'exact', reasons: ['fingerprint matches a managed key'], instance: key.instance } });
        continue;
      }
      if (!looksRandom(c.value)) continue;
      const verdict = classifyContext(text, starts, c);
      if (verdict.confidence === null || CONFIDENCES.indexOf(verdict.confidence) < floor) continue;
      hits.push({ token: c.value, finding: { ...base, key_id: null, managed: false, confidence: verdict.confidence, reasons: verdict.reasons, instance: verdict.instance } });
    }
    return hits;
  };
}
