import { randomBytes } from 'node:crypto';
import type { Finding } from '../../src/core/finding.js';
import { createFingerprinter } from '../../src/core/fingerprint.js';
import { loadRulesOrThrow } from '../../src/detect/load.js';
import { runReplay, type ReplayRunSummary } from '../../src/detect/replay.js';
import { loadReplayKeys } from '../../src/detect/replay-keys.js';
import { createEnricher } from '../../src/ingest/enrich/index.js';
import { openKeysDb } from '../../src/keys/db.js';
import { readInventoryFile } from '../../src/keys/import-file.js';
import { KeyInventory } from '../../src/keys/inventory.js';
import { requireKek } from '../../src/keys/kms.js';
import { Vault } from '../../src/keys/vault.js';

/**
 * Replaying a generated instance in-process through the same path as `tuskguard replay
 * --dry-run`: the inventory is imported as `keys import` does (into a fresh data dir, under a
 * throwaway master key), then the history and the week go through parse → enrich → detect.
 */

/** `tuskguard keys import FILE` without the CLI: returns how many keys were stored. */
export async function importKeys(home: string, file: string, pepper: string): Promise<number> {
  const db = openKeysDb(home);
  try {
    const vault = await Vault.open(db, requireKek({ TUSKGUARD_MASTER_KEY: randomBytes(32).toString('hex') }));
    return (await new KeyInventory(db).upsertMany(vault, pepper, readInventoryFile(file))).length;
  } finally {
    db.close();
  }
}

export interface WeekRun {
  findings: Finding[];
  summary: ReplayRunSummary;
}

/** Dry-run replay of `files` with the keys under `home` and the rules in `rulesDir`. */
export async function replayDry(files: readonly string[], home: string, pepper: string, rulesDir = 'rules/detections'): Promise<WeekRun> {
  const keys = loadReplayKeys(home, pepper);
  const enricher = await createEnricher({ keyLookup: keys.lookup });
  const findings: Finding[] = [];
  const summary = await runReplay({
    files: files.map((path) => ({ path, format: 'nginx-json' as const })),
    rules: loadRulesOrThrow(rulesDir),
    keys: keys.lookup,
    enrich: (e) => enricher.enrich(e),
    fingerprint: createFingerprinter(pepper),
    onFindings: (found) => void findings.push(...found),
  });
  return { findings, summary };
}
