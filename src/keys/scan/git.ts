import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { TuskguardError } from '../../core/errors.js';
import { isBinary } from './files.js';

const exec = promisify(execFile);

/**
 * Git history: every blob reachable from any ref (`git rev-list --objects --all`), read in one
 * `git cat-file --batch` stream. A blob is scanned once however many commits share it; the
 * commit that introduced a matching blob is looked up afterwards (`git log --find-object`),
 * which is rare and cheap.
 */

export interface GitBlob {
  sha: string;
  /** A path the blob had (the first rev-list reports). */
  path: string;
  text: string;
}

export interface GitSkips {
  binary: number;
  too_large: number;
}

/** The top level of the work tree containing `path`, or USAGE when it is not in a repository. */
export async function gitTopLevel(path: string): Promise<string> {
  try {
    const { stdout } = await exec('git', ['-C', path, 'rev-parse', '--show-toplevel']);
    return stdout.trim();
  } catch (e) {
    throw new TuskguardError('USAGE', `--git: ${path} is not inside a git repository`, {
      hint: 'pass the path of a git work tree, or drop --git to scan files only',
      cause: e,
    });
  }
}

/** sha → first path, for every tree or blob reachable from any ref (commits carry no path). */
async function reachableObjects(repo: string): Promise<Map<string, string>> {
  const child = spawn('git', ['-C', repo, 'rev-list', '--objects', '--all'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const objects = new Map<string, string>();
  for await (const line of createInterface({ input: child.stdout })) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const sha = line.slice(0, space);
    if (!objects.has(sha)) objects.set(sha, line.slice(space + 1));
  }
  await exitOf(child, 'git rev-list');
  return objects;
}

function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return child.exitCode === 0 ? resolve() : reject(new Error(`${what} exited ${child.exitCode}`));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}`))));
    child.once('error', reject);
  });
}

/**
 * Parse `git cat-file --batch` output: `<sha> <type> <size>\n<content>\n` per object. Waits
 * for a whole object without re-copying the buffer on every chunk (big blobs arrive in many).
 */
class BatchParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { sha: string; type: string; size: number } | null = null;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  private flat(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): Buffer {
    const all = this.flat();
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }

  /** The next complete object, or null until more input arrives. */
  next(): { sha: string; type: string; content: Buffer } | null {
    if (this.header === null) {
      const nl = this.flat().indexOf(10);
      if (nl === -1) return null;
      const [sha = '', type = '', size = '0'] = this.consume(nl + 1).subarray(0, nl).toString('latin1').split(' ');
      if (type === 'missing') return { sha, type, content: Buffer.alloc(0) };
      this.header = { sha, type, size: Number(size) };
    }
    if (this.buffered < this.header.size + 1) return null;
    const { sha, type, size } = this.header;
    this.header = null;
    const content = Buffer.from(this.consume(size));
    this.consume(1);
    return { sha, type, content };
  }
}

async function feed(child: ReturnType<typeof spawn>, shas: Iterable<string>): Promise<void> {
  const stdin = child.stdin!;
  for (const sha of shas) {
    if (!stdin.write(`${sha}\n`)) await new Promise((r) => stdin.once('drain', r));
  }
  stdin.end();
}

/** Blobs among `objects` no larger than `maxBytes` (sizes from `cat-file --batch-check`, no content read). */
async function smallBlobs(repo: string, objects: Map<string, string>, maxBytes: number, skips: GitSkips): Promise<string[]> {
  const child = spawn('git', ['-C', repo, 'cat-file', '--batch-check'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const feeding = feed(child, objects.keys());
  const out: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    const [sha = '', type, size] = line.split(' ');
    if (type !== 'blob') continue;
    if (Number(size) > maxBytes) skips.too_large++;
    else out.push(sha);
  }
  await feeding;
  await exitOf(child, 'git cat-file --batch-check');
  return out;
}

/** Every text blob reachable from any ref, up to `maxBytes` each. */
export async function* gitBlobs(repo: string, maxBytes: number, skips: GitSkips): AsyncGenerator<GitBlob> {
  const objects = await reachableObjects(repo);
  const blobs = await smallBlobs(repo, objects, maxBytes, skips);
  const child = spawn('git', ['-C', repo, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const feeding = feed(child, blobs);
  const parser = new BatchParser();
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    parser.push(chunk);
    for (let obj = parser.next(); obj !== null; obj = parser.next()) {
      if (obj.type !== 'blob') continue;
      if (isBinary(obj.content)) skips.binary++;
      else yield { sha: obj.sha, path: objects.get(obj.sha) ?? '', text: obj.content.toString('utf8') };
    }
  }
  await feeding;
  await exitOf(child, 'git cat-file --batch');
}

/** The oldest commit, across all refs, in which `blob` appears. */
export async function introducingCommit(repo: string, blob: string): Promise<string | null> {
  const { stdout } = await exec('git', ['-C', repo, 'log', '--all', '--reverse', '--format=%H', `--find-object=${blob}`], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n')[0]?.trim() || null;
}
