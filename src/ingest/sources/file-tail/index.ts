import { type FSWatcher, watch } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { type FileTailSourceConfig, durationMs } from '../../../config/schema.js';
import { type Clock, systemClock } from '../../../core/clock.js';
import { errorMessage } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { Metrics } from '../../../core/metrics.js';
import type { CheckpointStore } from '../../checkpoints.js';
import type { PipelineInput, Source, SourceLine } from '../../types.js';
import { TailedFile, readHead } from './tailed-file.js';

/**
 * `file-tail`: follows files (globs allowed) and survives both rotation styles.
 *
 * - rename (logrotate default, nginx USR1): the old inode is read to its end through its open
 *   descriptor — also while the writer still appends to it before reopening — and closed once
 *   it has been idle for `rotateIdleMs`; its unterminated last line is then handed out too.
 *   The new file at the path is read from 0, after the old one.
 * - copytruncate: the size shrinks below the read position (or the first bytes change), so
 *   reading starts over at 0.
 *
 * Change detection is polling every `poll_interval`, woken early by `fs.watch` on the
 * directories: watch events alone are unreliable (coalesced, missing on network filesystems,
 * lost during rotation), and a poll is one fstat per file.
 *
 * Offsets are committed to the control-plane DB on the pipeline's ack only, so a restart
 * resumes after the last stored line: nothing lost, nothing read twice after a clean stop.
 * After a crash, lines stored but not yet acknowledged are read again; their deterministic
 * event ids make the second write an overwrite, not a duplicate.
 */
export interface FileTailDeps {
  checkpoints: CheckpointStore;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** How long a rotated file must stay unchanged before it is closed. Default max(1 s, 4 polls). */
  rotateIdleMs?: number;
  /** How long stop() waits for outstanding acks. Default 10 s. */
  stopTimeoutMs?: number;
}

/** Checkpoint rows of files not seen for this long are pruned at start. */
const PRUNE_AFTER_MS = 7 * 86_400_000;

export class FileTailSource implements Source {
  readonly id: string;
  private readonly files = new Map<string, TailedFile>();
  private readonly pollMs: number;
  private readonly rotateIdleMs: number;
  private readonly clock: Clock;
  private input: PipelineInput | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private watchers: FSWatcher[] = [];
  private unacked = 0;
  private ackWaiters: Array<() => void> = [];
  private firstScan = true;
  /** Resolved once the first scan has fixed every file's start offset (so `start_at: end` means "at start()"). */
  private markPositioned: () => void = () => {};
  private readonly positioned = new Promise<void>((r) => (this.markPositioned = r));

  constructor(
    private readonly config: FileTailSourceConfig,
    private readonly deps: FileTailDeps,
  ) {
    this.id = config.id;
    this.pollMs = durationMs(config.poll_interval);
    this.rotateIdleMs = deps.rotateIdleMs ?? Math.max(1_000, 4 * this.pollMs);
    this.clock = deps.clock ?? systemClock;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.loop !== null && !this.stopping;
  }

  /** Files currently open (rotated ones included), for health and tests. */
  get openFiles(): string[] {
    return [...this.files.values()].map((f) => f.path);
  }

  async start(input: PipelineInput): Promise<void> {
    this.input = input;
    this.deps.checkpoints.pruneOlderThan(this.id, new Date(this.clock.now() - PRUNE_AFTER_MS));
    await this.resumeRotatedWhileDown();
    this.watchDirectories();
    this.loop = this.run();
    // Resolve only once offsets are fixed: lines appended after start() returns are read even
    // with start_at: end. Reading the backlog itself happens after, without blocking start().
    await Promise.race([this.positioned, this.loop]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.watchers) w.close();
    this.wake?.();
    await this.loop;
    await this.waitForAcks(this.deps.stopTimeoutMs ?? 10_000);
    for (const f of this.files.values()) await f.close();
    this.files.clear();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.scan();
      } catch (e) {
        if (this.stopping) break;
        this.deps.metrics.errors.inc({ component: 'file-tail', stage: 'scan' });
        this.deps.logger.error({ source: this.id, err: errorMessage(e) }, 'file-tail scan failed; retrying at next poll');
      }
      this.markPositioned();
      this.firstScan = false;
      if (this.stopping) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.pollMs);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  /** One pass: notice new and rotated files, then read rotated files to their end first. */
  private async scan(): Promise<void> {
    const current = await this.discover();
    for (const f of this.files.values()) {
      if (current.get(f.path) !== f.id && !f.rotated) {
        f.rotated = true;
        this.deps.logger.info({ source: this.id, path: f.path }, 'file rotated; reading the old file to its end');
      }
    }
    for (const [path, id] of current) {
      if (!this.files.has(id)) await this.track(id, path);
      else this.files.get(id)!.path = path;
    }
    this.markPositioned();
    const ordered = [...this.files.values()].sort((a, b) => Number(b.rotated) - Number(a.rotated));
    for (const f of ordered) {
      if (this.stopping) return;
      await this.readFile(f);
    }
  }

  /** path → `dev:inode` of every file the globs match now. */
  private async discover(): Promise<Map<string, string>> {
    const paths = await glob([...this.config.paths], { absolute: true, onlyFiles: true, expandDirectories: false });
    const out = new Map<string, string>();
    for (const path of paths.sort()) {
      try {
        const st = await stat(path);
        out.set(resolve(path), `${st.dev}:${st.ino}`);
      } catch {
        // Vanished between glob and stat (mid-rotation): the next poll sees the new state.
      }
    }
    return out;
  }

  private async track(id: string, path: string): Promise<void> {
    const start = await this.startOffset(id, path);
    try {
      this.files.set(id, await TailedFile.open(id, path, start, this.config.max_line_bytes * 4 + 65_536));
      this.deps.logger.info({ source: this.id, path, offset: start }, 'following file');
    } catch (e) {
      this.deps.metrics.errors.inc({ component: 'file-tail', stage: 'open' });
      this.deps.logger.warn({ source: this.id, path, err: errorMessage(e) }, 'cannot open file; will retry');
    }
  }

  /** The checkpoint when it still describes this file, else beginning (or end per start_at). */
  private async startOffset(id: string, path: string): Promise<number | 'end'> {
    const cp = this.deps.checkpoints.get(this.id, id);
    if (cp && (await sameFile(path, cp.head, cp.headLen, cp.offset))) return cp.offset;
    if (cp) this.deps.logger.info({ source: this.id, path }, 'file changed since its checkpoint; reading from the start');
    return this.firstScan && this.config.start_at === 'end' && !cp ? 'end' : 0;
  }

  private async readFile(f: TailedFile): Promise<void> {
    const emit = (lines: SourceLine[]) => this.emit(f, lines);
    let grew = false;
    try {
      grew = await f.readNew(emit, () => this.stopping);
    } catch (e) {
      this.deps.metrics.errors.inc({ component: 'file-tail', stage: 'read' });
      this.deps.logger.warn({ source: this.id, path: f.path, err: errorMessage(e) }, 'read failed; will retry');
      return;
    }
    const now = this.clock.now();
    f.idleSince = grew ? null : (f.idleSince ?? now);
    if (f.rotated && f.idleSince !== null && now - f.idleSince >= this.rotateIdleMs && !this.stopping) {
      const last = f.takePartial();
      if (last) await emit([last]);
      this.files.delete(f.id);
      await f.close();
      this.deps.logger.info({ source: this.id, path: f.path }, 'rotated file finished');
    }
  }

  private async emit(f: TailedFile, lines: SourceLine[]): Promise<void> {
    const last = lines[lines.length - 1]!.position!;
    const cp = { sourceId: this.id, fileId: f.id, path: f.path, offset: last, head: f.head.hash, headLen: f.head.len };
    this.unacked++;
    await this.input!.push({
      sourceId: this.id,
      format: this.config.format,
      origin: f.origin,
      lines,
      maxLineBytes: this.config.max_line_bytes,
      ack: () => {
        this.deps.checkpoints.commit(cp, new Date(this.clock.now()));
        if (--this.unacked === 0) for (const w of this.ackWaiters.splice(0)) w();
      },
    });
  }

  private async waitForAcks(timeoutMs: number): Promise<void> {
    if (this.unacked === 0) return;
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.deps.logger.warn({ source: this.id, unacked: this.unacked }, 'stopped before the store acknowledged every batch; those lines are read again on restart');
        r();
      }, timeoutMs);
      t.unref();
      this.ackWaiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  /**
   * Files rotated while tuskguard was down still hold lines past their checkpoint. Rotation
   * keeps a file in its directory (access.log → access.log.1), so look for the inode there.
   */
  private async resumeRotatedWhileDown(): Promise<void> {
    const current = new Set((await this.discover()).values());
    for (const cp of this.deps.checkpoints.list(this.id)) {
      if (current.has(cp.fileId)) continue;
      const found = await findInode(dirname(cp.path), cp.fileId);
      if (!found || !(await sameFile(found, cp.head, cp.headLen, cp.offset))) continue;
      try {
        const f = await TailedFile.open(cp.fileId, found, cp.offset, this.config.max_line_bytes * 4 + 65_536);
        f.rotated = true;
        this.files.set(cp.fileId, f);
        this.deps.logger.info({ source: this.id, path: found, offset: cp.offset }, 'resuming a file rotated while stopped');
      } catch (e) {
        this.deps.metrics.errors.inc({ component: 'file-tail', stage: 'open' });
        this.deps.logger.warn({ source: this.id, path: found, err: errorMessage(e) }, 'cannot reopen a file rotated while stopped; its remaining lines are skipped');
      }
    }
  }

  private watchDirectories(): void {
    const dirs = new Set(this.config.paths.map((p) => staticBase(resolve(p))));
    for (const dir of dirs) {
      try {
        this.watchers.push(watch(dir, { persistent: false }, () => this.wake?.()).on('error', () => undefined));
      } catch {
        // Missing directory or no inotify: polling alone still finds everything.
      }
    }
  }
}

/** Whether `path` still starts with the hashed bytes and is at least `offset` long. */
async function sameFile(path: string, head: string, headLen: number, offset: number): Promise<boolean> {
  try {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size < offset || size < headLen) return false;
      return (await readHead(fh, headLen)).hash === head;
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

async function findInode(dir: string, fileId: string): Promise<string | null> {
  try {
    for (const name of await readdir(dir)) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (st?.isFile() && `${st.dev}:${st.ino}` === fileId) return join(dir, name);
    }
  } catch {
    // Directory gone: the file is gone with it.
  }
  return null;
}

/** The directory part of a glob before its first wildcard segment. */
function staticBase(pattern: string): string {
  const parts = pattern.split('/');
  const i = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  return i < 0 ? dirname(pattern) : parts.slice(0, i).join('/') || '/';
}
