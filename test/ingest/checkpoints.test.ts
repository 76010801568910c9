import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/ingest/checkpoints.js';
import { openControlDb } from '../../src/store/control.js';

describe('CheckpointStore', () => {
  it('keeps one row per source and file identity, survives reopening, and prunes stale rows', () => {
    const home = mkdtempSync(join(tmpdir(), 'tg-cp-'));
    const db = openControlDb(home);
    const cps = new CheckpointStore(db);
    const base = { sourceId: 'edge', fileId: '1:2', path: '/a.log', offset: 10, head: 'h', headLen: 5 };
    cps.commit(base, new Date('2026-01-01T00:00:00Z'));
    cps.commit({ ...base, path: '/a.log.1', offset: 20 }, new Date('2026-01-02T00:00:00Z'));
    cps.commit({ ...base, fileId: '1:3', offset: 5 }, new Date('2026-01-03T00:00:00Z'));
    cps.commit({ ...base, sourceId: 'other' }, new Date('2026-01-01T00:00:00Z'));
    db.close();
    const again = new CheckpointStore(openControlDb(home));
    expect(again.get('edge', '1:2')).toMatchObject({ path: '/a.log.1', offset: 20 });
    expect(again.list('edge').map((c) => c.fileId)).toEqual(['1:2', '1:3']);
    expect(again.pruneOlderThan('edge', new Date('2026-01-02T12:00:00Z'))).toBe(1);
    expect(again.list('edge').map((c) => c.fileId)).toEqual(['1:3']);
    expect(again.get('other', '1:2')).not.toBeNull();
  });
});
