import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SCRIPT = fileURLToPath(new URL('../fixtures/scripts/pipeline-store-down.ts', import.meta.url));

describe('pipeline keeps its process alive while it holds lines', () => {
  it('finishes a backfill through store retries when nothing else holds the event loop', () => {
    // Before the fix Node exited with code 13 (unsettled top-level await) and stored nothing more.
    const r = spawnSync(process.execPath, ['--import', TSX, SCRIPT], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('stored 50');
  });
});
