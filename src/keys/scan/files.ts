import { lstat, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files a scan reads: regular files under the given paths, skipping VCS and dependency
 * folders, symlinks (no loops, no escaping the tree), binaries and files over the size limit.
 */

export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules', '.hg', '.svn']);
/** Files whose first bytes hold a NUL are binary (git's own heuristic). */
const SNIFF_BYTES = 8_000;

export interface FileSkips {
  binary: number;
  too_large: number;
  unreadable: number;
}

export interface TextFile {
  path: string;
  text: string;
  bytes: number;
}

export function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, SNIFF_BYTES).includes(0);
}

async function* walk(path: string, skips: FileSkips, isRoot = false): AsyncGenerator<string> {
  let st;
  try {
    // A PATH the user named is followed even if it is a symlink; links inside the tree are not.
    st = isRoot ? await stat(path) : await lstat(path);
  } catch {
    skips.unreadable++;
    return;
  }
  if (st.isFile()) {
    yield path;
    return;
  }
  if (!st.isDirectory()) return;
  let entries: string[];
  try {
    entries = (await readdir(path)).sort();
  } catch {
    skips.unreadable++;
    return;
  }
  for (const name of entries) {
    if (SKIPPED_DIRS.has(name)) continue;
    yield* walk(join(path, name), skips);
  }
}

/** Read a file if it is small enough and not binary; counts what it skips. */
async function readText(path: string, maxBytes: number, skips: FileSkips): Promise<TextFile | null> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) {
        skips.too_large++;
        return null;
      }
      const buf = await handle.readFile();
      if (isBinary(buf)) {
        skips.binary++;
        return null;
      }
      return { path, text: buf.toString('utf8'), bytes: buf.length };
    } finally {
      await handle.close();
    }
  } catch {
    skips.unreadable++;
    return null;
  }
}

/** Text files under `roots`, in a stable order. */
export async function* textFiles(roots: readonly string[], maxBytes: number, skips: FileSkips): AsyncGenerator<TextFile> {
  for (const root of roots) {
    for await (const path of walk(root, skips, true)) {
      const file = await readText(path, maxBytes, skips);
      if (file) yield file;
    }
  }
}
