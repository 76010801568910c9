import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { startMastodonSim } from '../mastodon-sim/index.js';
import { KeysSandbox } from './keys-helpers.js';

// Each test runs the real CLI several times (a process each); allow for a busy machine.
vi.setConfig({ testTimeout: 120_000 });

const box = new KeysSandbox();
const key = box.item('leaky-bot');
const token = key.token as string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();
}

/** No output may hold the token or any 8-character piece of it (a prefix would help an attacker). */
function expectNoPiece(text: string): void {
  for (let i = 0; i + 8 <= token.length; i++) expect(text).not.toContain(token.slice(i, i + 8));
}

let repo = '';
let leakCommit = '';

beforeAll(async () => {
  expect((await box.run(['keys', 'import', box.writeInventory('keys.json', [key])])).code).toBe(0);
  repo = mkdtempSync(join(tmpdir(), 'tg-cli-scan-'));
  git(repo, 'init', '-q', '-b', 'main');
  mkdirSync(join(repo, 'deploy'));
  writeFileSync(join(repo, 'deploy', 'bot.env'), `MASTODON_URL=https://social.example\nMASTODON_ACCESS_TOKEN=${token}\n`);
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'add bot config');
  leakCommit = git(repo, 'rev-parse', 'HEAD');
  rmSync(join(repo, 'deploy', 'bot.env'));
  writeFileSync(join(repo, 'README.md'), 'config now comes from the vault\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'remove secret');
});

afterAll(() => {
  expect(box.leaks()).toEqual([]);
  expectNoPiece(box.transcript.join('\n'));
});

describe('tuskguard scan', () => {
  it('exits 0 on a clean work tree (the token was deleted)', async () => {
    const r = await box.run(['scan', repo]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no tokens found/);
  });

  it('finds the managed token in git history with commit, path and line, exit 1', async () => {
    const r = await box.run(['scan', repo, '--git', '-o', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { findings: Array<Record<string, unknown>> };
    expect(report.findings).toEqual([
      expect.objectContaining({ source: 'git', path: 'deploy/bot.env', line: 2, commit: leakCommit, key_id: 'leaky-bot', managed: true, confidence: 'exact', fingerprint: fingerprint(box.pepper, token) }),
    ]);
    const human = await box.run(['scan', repo, '--git']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`git ${leakCommit.slice(0, 12)} deploy/bot.env:2:23  key leaky-bot`);
  });

  it('finds it in a file, and in the environment with --env', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-scan-files-'));
    writeFileSync(join(dir, 'notes.txt'), `line one\ncopied by mistake: ${token}\n`);
    const r = await box.run(['scan', dir, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings).toEqual([expect.objectContaining({ source: 'file', path: join(dir, 'notes.txt'), line: 2, column: 20, key_id: 'leaky-bot' })]);
    const env = await box.run(['scan', '--env', '-o', 'json'], { env: { LEAKY_VAR: token } });
    expect(env.code).toBe(1);
    expect(JSON.parse(env.stdout).findings).toEqual([expect.objectContaining({ source: 'env', path: 'env:LEAKY_VAR', key_id: 'leaky-bot' })]);
  });

  it('--verify asks the key’s instance (the simulator): live, then dead once revoked', async () => {
    const sim = await startMastodonSim();
    try {
      const app = sim.createApp({ name: 'bot', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read' });
      const issued = sim.issueUserToken(app, sim.createUser({ username: 'erin' }), ['read']);
      box.secrets.push(issued.token, app.secret);
      const item = { ...box.item('sim-bot'), instance: sim.url, token: issued.token, client_id: app.uid, client_secret: app.secret };
      expect((await box.run(['keys', 'import', box.writeInventory('sim.json', [item])])).code).toBe(0);
      const verify = async () => {
        const r = await box.run(['scan', '--env', '--verify', '-o', 'json'], { env: { SIM_TOKEN: issued.token } });
        expect(r.code).toBe(1);
        return (JSON.parse(r.stdout).findings as Array<Record<string, unknown>>).find((f) => f.path === 'env:SIM_TOKEN');
      };
      expect(await verify()).toMatchObject({ key_id: 'sim-bot', live: 'live' });
      const revoked = await fetch(`${sim.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: issued.token, client_id: app.uid, client_secret: app.secret }).toString(),
      });
      expect(revoked.status).toBe(200);
      expect(await verify()).toMatchObject({ key_id: 'sim-bot', live: 'dead', live_detail: 'revoked' });
    } finally {
      await sim.close();
    }
  });

  it('usage errors exit 2: nothing to scan, --git outside a repository, a bad option', async () => {
    expect((await box.run(['scan'])).code).toBe(2);
    const notRepo = await box.run(['scan', mkdtempSync(join(tmpdir(), 'tg-nogit-')), '--git']);
    expect(notRepo.code).toBe(2);
    expect(notRepo.stderr).toMatch(/not inside a git repository/);
    expect((await box.run(['scan', repo, '--min-confidence', 'certain'])).code).toBe(2);
  });
});
