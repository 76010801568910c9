/**
 * Leak-scan throughput on one core: text scanned per CPU-second by the full text scanner
 * (candidate regex, an HMAC fingerprint per candidate, the managed-key lookup and context
 * scoring for unmanaged candidates), against a baseline of the candidate regex alone in the same
 * process on the same text, so the ratio survives a faster or slower machine.
 *
 *   npx tsx bench/scan.ts          (about 4 s; BENCH_SECONDS=1 for a quick look)
 *
 * The corpus is synthetic source and config text (deterministic), one 43-character
 * base64url candidate every ~2 kB, a tenth of them near Mastodon context.
 * Prints: `scan-text <MB/s> MB/s baseline=<regex MB/s> ratio=<scanner/regex>`.
 */
import { createFingerprinter } from '../src/core/fingerprint.js';
import { findCandidates } from '../src/keys/scan/candidates.js';
import { createTextScanner } from '../src/keys/scan/text.js';
import { rng } from './traffic/random.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function corpus(bytes: number): string {
  const r = rng(7);
  const token = () => Array.from({ length: 43 }, () => ALPHABET[Math.floor(r() * 64)]).join('');
  const lines = [
    'export function handler(event, context) { return process(event.body ?? "", context); }',
    '  const url = new URL(path, base); // resolve relative to the configured base',
    'server:\n  host: 127.0.0.1\n  port: 8080\n  timeout: 30s',
    '# Notes: rotate credentials quarterly; see the runbook for the procedure.',
    '    if (!response.ok) throw new Error(`request failed: ${response.status}`);',
  ];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    let line = lines[i % lines.length]!;
    if (i % 25 === 0) line = i % 250 === 0 ? `MASTODON_URL=https://social.example\nMASTODON_ACCESS_TOKEN=${token()}` : `checksum: ${token()}`;
    parts.push(line);
    size += line.length + 1;
  }
  return parts.join('\n');
}

/** MB of `text` processed per CPU-second by `fn`, over about SECONDS of CPU. */
function rate(text: string, fn: (t: string) => unknown): number {
  fn(text);
  const start = process.cpuUsage();
  let rounds = 0;
  let used = 0;
  while (used < SECONDS * 1e6) {
    fn(text);
    rounds++;
    const u = process.cpuUsage(start);
    used = u.user + u.system;
  }
  return (rounds * Buffer.byteLength(text)) / 1e6 / (used / 1e6);
}

const text = corpus(4 * 1024 * 1024);
const scanText = createTextScanner({ fingerprint: createFingerprinter('bench-pepper-0123456789abcdef'), managed: new Map(), minConfidence: 'low' });
const baseline = rate(text, (t) => findCandidates(t));
const full = rate(text, (t) => scanText(t, { source: 'file', path: 'bench' }));
process.stderr.write(`corpus ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB, ${findCandidates(text).length} candidates\n`);
process.stdout.write(`scan-text ${full.toFixed(1)} MB/s baseline=${baseline.toFixed(1)} ratio=${(full / baseline).toFixed(2)}\n`);
