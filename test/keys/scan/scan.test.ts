import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFingerprinter, fingerprint } from '../../../src/core/fingerprint.js';
import { scan, type ScanOptions } from '../../../src/keys/scan/index.js';
import { looksRandom } from '../../../src/keys/scan/candidates.js';
import { clientVerifier, verifiableInstance, type TokenVerifier } from '../../../src/keys/scan/verify.js';
import { MastodonClient } from '../../../src/mastodon/client.js';
import { startMastodonSim } from '../../mastodon-sim/index.js';
import { fakeToken, tempHome } from '../helpers.js';

const PEPPER = 'scan-test-pepper-0123456789';
const OPTIONS: ScanOptions = { paths: [], git: false, env: false, verify: false, maxBytes: 1024 * 1024, minConfidence: 'low' };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();
}

function randomLooking(): string {
  for (;;) {
    const t = fakeToken();
    if (looksRandom(t)) return t;
  }
}

function deps(managedToken: string, verifier?: TokenVerifier) {
  return {
    fingerprint: createFingerprinter(PEPPER),
    managed: new Map([[fingerprint(PEPPER, managedToken), { id: 'bot-a', instance: 'https://social.example' }]]),
    ...(verifier ? { verifier } : {}),
  };
}

describe('scan files', () => {
  it('finds a managed token in a file with file:line, skipping .git, node_modules, binaries and big files', async () => {
    const token = fakeToken();
    const root = tempHome('tg-scan-');
    writeFileSync(join(root, 'clean.txt'), 'nothing here\n');
    mkdirSync(join(root, 'config'));
    writeFileSync(join(root, 'config', 'bot.yml'), `name: bot\n\nsecret: ${token}\n`);
    mkdirSync(join(root, 'node_modules'));
    writeFileSync(join(root, 'node_modules', 'x.js'), token);
    writeFileSync(join(root, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(token)]));
    writeFileSync(join(root, 'big.log'), `${token}\n${'x'.repeat(2_000)}`);
    const report = await scan({ ...OPTIONS, paths: [root], maxBytes: 1_000 }, deps(token));
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ source: 'file', path: join(root, 'config', 'bot.yml'), line: 3, column: 9, key_id: 'bot-a', managed: true, confidence: 'exact' });
    expect(report.scanned.files).toBe(2);
    expect(report.skipped).toMatchObject({ binary: 1, too_large: 1 });
    expect(JSON.stringify(report)).not.toContain(token);
  });

  it('follows a symlink given as PATH but not symlinks inside the tree', async () => {
    const token = fakeToken();
    const real = tempHome('tg-scan-real-');
    writeFileSync(join(real, 'a.txt'), token);
    const root = tempHome('tg-scan-links-');
    symlinkSync(real, join(root, 'inner-link'));
    expect((await scan({ ...OPTIONS, paths: [root] }, deps(token))).findings).toEqual([]);
    const viaLink = await scan({ ...OPTIONS, paths: [join(root, 'inner-link')] }, deps(token));
    expect(viaLink.findings.map((f) => f.path)).toEqual([join(root, 'inner-link', 'a.txt')]);
  });

  it('reports nothing for a clean tree', async () => {
    const root = tempHome('tg-scan-');
    writeFileSync(join(root, 'a.md'), `# docs\nhash: ${'a'.repeat(43)}\n`);
    expect((await scan({ ...OPTIONS, paths: [root] }, deps(fakeToken()))).findings).toEqual([]);
  });
});

describe('scan --git', () => {
  it('finds a token committed and later deleted, with the introducing commit and path, never printing it', async () => {
    const token = fakeToken();
    const unmanaged = randomLooking();
    const repo = tempHome('tg-scan-git-');
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'init');
    writeFileSync(join(repo, '.env'), `MASTODON_URL=https://social.example\nMASTODON_ACCESS_TOKEN=${token}\nOTHER_MASTODON_TOKEN=${unmanaged}\n`);
    git(repo, 'add', '.env');
    git(repo, 'commit', '-q', '-m', 'add env');
    const leakCommit = git(repo, 'rev-parse', 'HEAD');
    rmSync(join(repo, '.env'));
    git(repo, 'commit', '-q', '-am', 'remove env');
    // On a side branch too, so "all refs" matters.
    git(repo, 'checkout', '-q', '-b', 'side');
    writeFileSync(join(repo, 'notes.txt'), `old ${token}\n`);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'side');
    const sideCommit = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', 'main');

    const filesOnly = await scan({ ...OPTIONS, paths: [repo] }, deps(token));
    expect(filesOnly.findings).toEqual([]);
    const report = await scan({ ...OPTIONS, paths: [repo], git: true }, deps(token));
    const managed = report.findings.filter((f) => f.managed).map((f) => [f.source, f.path, f.line, f.commit]);
    expect(managed).toEqual(
      expect.arrayContaining([
        ['git', '.env', 2, leakCommit],
        ['git', 'notes.txt', 1, sideCommit],
      ]),
    );
    expect(managed).toHaveLength(2);
    const other = report.findings.find((f) => !f.managed);
    expect(other).toMatchObject({ source: 'git', path: '.env', line: 3, key_id: null, confidence: 'high', instance: 'https://social.example', commit: leakCommit });
    expect(JSON.stringify(report)).not.toContain(token);
    expect(JSON.stringify(report)).not.toContain(unmanaged);
  });

  it('scans a repository once when several PATHs lie in it', async () => {
    const token = fakeToken();
    const repo = tempHome('tg-scan-git2-');
    git(repo, 'init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'a'));
    mkdirSync(join(repo, 'b'));
    writeFileSync(join(repo, 'a', 'x.txt'), `${token}\n`);
    writeFileSync(join(repo, 'b', 'y.txt'), 'clean\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'one');
    const report = await scan({ ...OPTIONS, paths: [join(repo, 'a'), join(repo, 'b')], git: true }, deps(token));
    expect(report.findings.filter((f) => f.source === 'git').map((f) => f.path)).toEqual(['a/x.txt']);
    expect(report.findings.filter((f) => f.source === 'file')).toHaveLength(1);
  });

  it('refuses a path outside a repository with a usage error', async () => {
    await expect(scan({ ...OPTIONS, paths: [tempHome('tg-nogit-')], git: true }, deps(fakeToken()))).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('scan --env and --verify', () => {
  it('checks the given environment', async () => {
    const token = fakeToken();
    const report = await scan({ ...OPTIONS, env: true, environment: { HOME: '/root', BOT_SECRET: token } }, deps(token));
    expect(report.findings.map((f) => [f.path, f.key_id])).toEqual([['env:BOT_SECRET', 'bot-a']]);
    expect(report.scanned.env_vars).toBe(2);
  });

  it('asks the injected verifier once per token, with the inventory instance for managed keys', async () => {
    const token = fakeToken();
    const calls: string[] = [];
    const verifier: TokenVerifier = async (t, instance) => {
      calls.push(instance);
      return t === token ? { status: 'dead', detail: '401 The access token was revoked' } : { status: 'live', detail: '200' };
    };
    const report = await scan({ ...OPTIONS, env: true, verify: true, environment: { A: token, B: token, MASTODON_TOKEN: randomLooking() } }, deps(token, verifier));
    expect(calls).toEqual(['https://social.example']);
    expect(report.findings.map((f) => [f.path, f.live])).toEqual([['env:A', 'dead'], ['env:B', 'dead'], ['env:MASTODON_TOKEN', 'unknown']]);
  });

  it('only sends unmanaged tokens to https instances (or loopback http)', () => {
    expect(verifiableInstance('http://evil.example', false)).toBeNull();
    expect(verifiableInstance('https://social.example', false)).toBe('https://social.example');
    expect(verifiableInstance('http://127.0.0.1:3000', false)).toBe('http://127.0.0.1:3000');
    expect(verifiableInstance('http://mastodon.internal', true)).toBe('http://mastodon.internal');
  });

  it('clientVerifier asks the instance through the Mastodon client: live, revoked, unreachable', async () => {
    const sim = await startMastodonSim();
    try {
      const app = sim.createApp({ name: 'bot', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read read:statuses' });
      const issued = sim.issueUserToken(app, sim.createUser({ username: 'dana' }), ['read:statuses']);
      const verify = clientVerifier(new MastodonClient({ timeoutMs: 2_000 }));
      expect(await verify(issued.token, sim.url)).toEqual({ status: 'live', detail: 'live (scopes read:statuses)' });
      const revoked = await fetch(`${sim.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: issued.token, client_id: app.uid, client_secret: app.secret }).toString(),
      });
      expect(revoked.status).toBe(200);
      expect(await verify(issued.token, sim.url)).toEqual({ status: 'dead', detail: 'revoked' });
      expect(await verify(fakeToken(), sim.url)).toEqual({ status: 'dead', detail: 'invalid' });
    } finally {
      await sim.close();
    }
    expect((await clientVerifier(new MastodonClient({ timeoutMs: 1_000 }))(fakeToken(), 'http://127.0.0.1:1')).status).toBe('unknown');
  });
});
