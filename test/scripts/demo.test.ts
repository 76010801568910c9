import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * scripts/demo.sh is issue 3's "Done means" as one command: run it for real (simulator, CLI,
 * curl, git) and check what it claims — every step, the 401s, the scan, no secret in any
 * output, and that the simulator and the temp dir are gone afterwards, also after a SIGTERM.
 */

const SCRIPT = fileURLToPath(new URL('../../scripts/demo.sh', import.meta.url));

interface Run {
  child: ChildProcess;
  out: () => string;
  done: Promise<number | null>;
}

function startDemo(env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn('bash', [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, out: () => out, done };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The simulator pid and the work dir, as the demo prints them in step 1. */
function started(out: string): { simPid: number; workDir: string } {
  const simPid = Number(/simulator pid (\d+) at http:\/\/127\.0\.0\.1:\d+/.exec(out)?.[1]);
  const workDir = /^work dir (\S+)$/m.exec(out)?.[1] ?? '';
  return { simPid, workDir };
}

describe('scripts/demo.sh', () => {
  let dir: string;
  let out = '';
  let code: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
    const run = startDemo({ DEMO_SECRETS_FILE: join(dir, 'secrets.txt'), DEMO_KEEP: '0' });
    code = await run.done;
    out = run.out();
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every step in order and ends with the success line', () => {
    expect(code, out).toBe(0);
    const headers = [...out.matchAll(/^=== (\d)\. /gm)].map((m) => Number(m[1]));
    expect(headers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(out.trimEnd().endsWith('demo: all steps passed')).toBe(true);
  });

  it('imports and lists both keys with fingerprints', () => {
    expect(out).toMatch(/^added\s+feed-digest\s+[0-9a-f]{32}$/m);
    expect(out).toMatch(/^added\s+alice-phone\s+[0-9a-f]{32}$/m);
    expect(out).toMatch(/^alice-phone\s+active\s+user\s+http:\/\/127\.0\.0\.1:\d+\s+alice\s+\S+\s+never\s+[0-9a-f]{32}$/m);
  });

  it('reviews least privilege from the ingested traffic', () => {
    const alice = out.slice(out.indexOf('alice-phone  (active'), out.indexOf('feed-digest  (active'));
    expect(alice).toMatch(/granted\s+follow read write\n\s+used\s+read write\n\s+unused\s+follow\n/);
    expect(alice).toMatch(/recommended\s+profile read:notifications read:statuses write:statuses/);
    expect(out).toMatch(/feed-digest {2}\(active[^\n]*\n\s+granted\s+read write:statuses\n\s+used\s+read\n\s+unused\s+write:statuses\n\s+recommended\s+read:statuses/);
    // apps/verify_credentials needs no scope: it is within any grant.
    expect(out).toMatch(/GET \/api\/v1\/apps\/verify_credentials {2}\[-\]\n/);
    expect(out).not.toContain('(not granted)');
  });

  it('revokes the user key with the 401 confirmed by tuskguard and by curl, idempotently', () => {
    expect(out).toContain('alice-phone revoked; Mastodon answers 401 for its token');
    expect(out).toContain("curl GET /oauth/token/info with alice-phone's old token → HTTP 401");
    expect(out).toMatch(/^alice-phone\s+already-revoked\s+[0-9a-f]{32}\s+401/m);
  });

  it('rotates the app key: new token live, old one 401, status completed', () => {
    expect(out).toContain('curl GET /oauth/token/info: old token → HTTP 401, new token → HTTP 200');
    expect(out).toMatch(/^feed-digest\s+completed\s+client_credentials\s+manual\s+[0-9a-f]{32}\s+[0-9a-f]{32}\s+bot-env/m);
    expect(out).toMatch(/mode 600, MASTODON_ACCESS_TOKEN replaced/);
  });

  it('finds the rotated token in git history by its fingerprint and exits 1', () => {
    const newFp = /^feed-digest fingerprint [0-9a-f]{32} → ([0-9a-f]{32})$/m.exec(out)?.[1];
    expect(newFp).toMatch(/^[0-9a-f]{32}$/);
    expect(out).toMatch(new RegExp(`^MANAGED\\s+exact\\s+git [0-9a-f]{12} \\.env:1:\\d+\\s+key feed-digest\\s+fingerprint ${newFp}$`, 'm'));
    expect(out).toContain('scan exit code 1');
  });

  it('never prints a token, client secret, pepper or master key', () => {
    const secrets = [...new Set(readFileSync(join(dir, 'secrets.txt'), 'utf8').split('\n').filter(Boolean))];
    // pepper, master key, the simulator's seed secret and token, 2 client secrets, 2 tokens, the rotated token
    expect(secrets.length).toBe(9);
    for (const s of secrets) {
      expect(s.length).toBeGreaterThanOrEqual(32);
      expect(out.includes(s), 'a secret appears in the demo output').toBe(false);
    }
  });

  it('stops the simulator and removes its temp dir', () => {
    const { simPid, workDir } = started(out);
    expect(simPid).toBeGreaterThan(0);
    expect(alive(simPid)).toBe(false);
    expect(workDir).toMatch(/tuskguard-demo\./);
    expect(existsSync(workDir)).toBe(false);
  });
});

describe('scripts/demo.sh interrupted', () => {
  it('stops the simulator and removes its temp dir on SIGTERM', async () => {
    const run = startDemo();
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (run.out().includes('=== 2. ')) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
      void run.done.then(() => {
        clearInterval(timer);
        reject(new Error(`demo ended before step 2:\n${run.out()}`));
      });
    });
    const { simPid, workDir } = started(run.out());
    expect(alive(simPid)).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.done).toBe(143);
    expect(alive(simPid)).toBe(false);
    expect(existsSync(workDir)).toBe(false);
  }, 120_000);
});
