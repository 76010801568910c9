import type { Fingerprinter } from '../../core/fingerprint.js';
import type { Confidence } from './context.js';
import { textFiles, type FileSkips } from './files.js';
import { gitBlobs, gitTopLevel, introducingCommit } from './git.js';
import { createTextScanner, type Hit, type LeakFinding, type ManagedIndexEntry } from './text.js';
import { verifiableInstance, type TokenVerifier } from './verify.js';

export type { LeakFinding } from './text.js';
export type { TokenVerifier, VerifyResult } from './verify.js';

/**
 * Leak scanning: managed tokens exactly (by fingerprint), likely unmanaged Mastodon tokens by
 * context, in files, git history and the environment. The report never holds a raw token.
 */

export interface ScanOptions {
  paths: readonly string[];
  /** Also scan every blob reachable from any ref of each path's repository. */
  git: boolean;
  /** Also scan the environment (`environment`, default process.env). */
  env: boolean;
  environment?: NodeJS.ProcessEnv;
  /** Ask the instance whether each distinct token found is live (needs `verifier`). */
  verify: boolean;
  maxBytes: number;
  minConfidence: Confidence;
}

export interface ScanDeps {
  fingerprint: Fingerprinter;
  managed: ReadonlyMap<string, ManagedIndexEntry>;
  verifier?: TokenVerifier;
}

export interface ScanReport {
  findings: LeakFinding[];
  scanned: { files: number; bytes: number; git_blobs: number; env_vars: number };
  skipped: { binary: number; too_large: number; unreadable: number };
  managed_keys: number;
}

export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

async function scanGit(repo: string, options: ScanOptions, scanText: ReturnType<typeof createTextScanner>, report: ScanReport): Promise<Hit[]> {
  const hits: Hit[] = [];
  for await (const blob of gitBlobs(repo, options.maxBytes, report.skipped)) {
    report.scanned.git_blobs++;
    const found = scanText(blob.text, { source: 'git', repo, path: blob.path, blob: blob.sha });
    if (found.length === 0) continue;
    const commit = await introducingCommit(repo, blob.sha);
    for (const h of found) h.finding.commit = commit;
    hits.push(...found);
  }
  return hits;
}

/** Verify each distinct token once; the raw values are dropped when this returns. */
async function verifyHits(hits: readonly Hit[], verifier: TokenVerifier): Promise<void> {
  const results = new Map<string, Promise<{ status: LeakFinding['live']; detail: string }>>();
  for (const { finding, token } of hits) {
    const instance = verifiableInstance(finding.instance, finding.managed);
    const key = `${finding.fingerprint} ${instance}`;
    if (!results.has(key)) {
      results.set(key, instance === null ? Promise.resolve({ status: 'unknown', detail: 'no https instance URL known for this token' }) : verifier(token, instance));
    }
    const r = await results.get(key)!;
    finding.live = r.status;
    finding.live_detail = r.detail;
  }
}

export async function scan(options: ScanOptions, deps: ScanDeps): Promise<ScanReport> {
  const report: ScanReport = {
    findings: [],
    scanned: { files: 0, bytes: 0, git_blobs: 0, env_vars: 0 },
    skipped: { binary: 0, too_large: 0, unreadable: 0 },
    managed_keys: deps.managed.size,
  };
  const scanText = createTextScanner({ fingerprint: deps.fingerprint, managed: deps.managed, minConfidence: options.minConfidence });
  const hits: Hit[] = [];
  const skips: FileSkips = report.skipped;
  for await (const file of textFiles(options.paths, options.maxBytes, skips)) {
    report.scanned.files++;
    report.scanned.bytes += file.bytes;
    hits.push(...scanText(file.text, { source: 'file', path: file.path }));
  }
  if (options.git) {
    // Several PATHs in one repository share one history: scan it once.
    const repos = new Set<string>();
    for (const root of options.paths) repos.add(await gitTopLevel(root));
    for (const repo of repos) hits.push(...(await scanGit(repo, options, scanText, report)));
  }
  if (options.env) {
    for (const [name, value] of Object.entries(options.environment ?? process.env)) {
      if (value === undefined) continue;
      report.scanned.env_vars++;
      hits.push(...scanText(`${name}=${value}`, { source: 'env', path: `env:${name}` }));
    }
  }
  if (options.verify && deps.verifier) await verifyHits(hits, deps.verifier);
  report.findings = hits.map((h) => h.finding);
  return report;
}
