import { type ControlDb, migrate } from '../store/control.js';

/**
 * Read positions of file sources, in the control-plane database.
 *
 * A row is keyed by source id and file identity (`dev:inode`), not by path: a renamed
 * (rotated) file keeps its identity, so the offset follows it to its new name. The path is
 * kept to find a file that was rotated while tuskguard was down, and `head` (a hash of the
 * file's first `head_len` bytes) detects a reused inode or a file rewritten in place, either
 * of which makes the offset meaningless.
 *
 * Offsets are written only when the pipeline acknowledges a batch, so a row never points past
 * a line that is not yet stored or dead-lettered.
 */
export interface Checkpoint {
  sourceId: string;
  /** `dev:inode` of the file. */
  fileId: string;
  /** Path where the file was last seen. */
  path: string;
  /** Byte offset just past the last acknowledged line. */
  offset: number;
  /** SHA-256 (hex) of the first `headLen` bytes. */
  head: string;
  headLen: number;
  updatedAt: string;
}

const MIGRATIONS = [
  `CREATE TABLE checkpoints (
     source_id TEXT NOT NULL,
     file_id TEXT NOT NULL,
     path TEXT NOT NULL,
     offset INTEGER NOT NULL,
     head TEXT NOT NULL,
     head_len INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (source_id, file_id))`,
  `CREATE INDEX checkpoints_by_path ON checkpoints (source_id, path)`,
] as const;

interface Row {
  source_id: string;
  file_id: string;
  path: string;
  offset: number;
  head: string;
  head_len: number;
  updated_at: string;
}

const toCheckpoint = (r: Row): Checkpoint => ({
  sourceId: r.source_id,
  fileId: r.file_id,
  path: r.path,
  offset: r.offset,
  head: r.head,
  headLen: r.head_len,
  updatedAt: r.updated_at,
});

export class CheckpointStore {
  private readonly upsert;
  private readonly byFile;
  private readonly bySource;
  private readonly remove;
  private readonly prune;

  constructor(private readonly db: ControlDb) {
    migrate(db, 'checkpoints', MIGRATIONS);
    this.upsert = db.prepare(
      `INSERT INTO checkpoints (source_id, file_id, path, offset, head, head_len, updated_at)
       VALUES (@sourceId, @fileId, @path, @offset, @head, @headLen, @updatedAt)
       ON CONFLICT (source_id, file_id) DO UPDATE SET path = excluded.path, offset = excluded.offset,
         head = excluded.head, head_len = excluded.head_len, updated_at = excluded.updated_at`,
    );
    this.byFile = db.prepare('SELECT * FROM checkpoints WHERE source_id = ? AND file_id = ?');
    this.bySource = db.prepare('SELECT * FROM checkpoints WHERE source_id = ? ORDER BY updated_at');
    this.remove = db.prepare('DELETE FROM checkpoints WHERE source_id = ? AND file_id = ?');
    this.prune = db.prepare('DELETE FROM checkpoints WHERE source_id = ? AND updated_at < ?');
  }

  get(sourceId: string, fileId: string): Checkpoint | null {
    const row = this.byFile.get(sourceId, fileId) as Row | undefined;
    return row ? toCheckpoint(row) : null;
  }

  /** Every row of a source, least recently updated first (oldest rotated files first). */
  list(sourceId: string): Checkpoint[] {
    return (this.bySource.all(sourceId) as Row[]).map(toCheckpoint);
  }

  /** Durable once it returns (one SQLite statement in WAL mode). */
  commit(cp: Omit<Checkpoint, 'updatedAt'>, now: Date = new Date()): void {
    this.upsert.run({ ...cp, updatedAt: now.toISOString() });
  }

  forget(sourceId: string, fileId: string): void {
    this.remove.run(sourceId, fileId);
  }

  /** Drop rows of files not seen for a while (rotated away and deleted). */
  pruneOlderThan(sourceId: string, before: Date): number {
    return this.prune.run(sourceId, before.toISOString()).changes;
  }
}
