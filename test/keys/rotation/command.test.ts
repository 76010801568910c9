import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { parseCommandOutput } from '../../../src/keys/rotation/command/index.js';
import { rotationConfigSchema } from '../../../src/keys/rotation/config.js';
import { RotationService } from '../../../src/keys/rotation/service.js';
import { errorText } from '../helpers.js';
import { Bench } from './harness.js';

// The `command` strategy: a site script mints the token (here: a Node script that registers an
// app on the simulator and asks for a client_credentials token, as a self-hoster's tooling
// would). Its output is parsed strictly and never logged; failures roll back.

let b: Bench;
let clock: ManualClock;
const CURRENT = { token: 'x'.repeat(43), client_id: 'cid-current-0123456789', client_secret: 'csecret-current-0123456789' };

/** A mint script; `scope` lets a test make it return the wrong scopes. */
function script(name: string, body: string): string {
  const file = join(b.home, name);
  writeFileSync(file, `#!/usr/bin/env node\n${body}\n`);
  chmodSync(file, 0o700);
  return file;
}

const MINT = (scope: string) => `
const base = process.env.TUSKGUARD_INSTANCE;
const app = await (await fetch(base + '/api/v1/apps', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ client_name: 'site-mint', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: process.env.TUSKGUARD_SCOPES }) })).json();
const tok = await (await fetch(base + '/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: ${scope} }) })).json();
console.error('minted a token: ' + tok.access_token); // a careless script: stderr must never be logged
process.stdout.write(JSON.stringify({ access_token: tok.access_token, client_id: app.client_id, client_secret: app.client_secret }) + '\\n');`;

function service(argv: string[], timeout = '20s'): RotationService {
  const config = rotationConfigSchema.parse({ quiet_period: '1m', keys: { bot: { command: { argv, timeout } } } });
  return new RotationService({ db: b.db, vault: b.vault, client: b.client, fingerprint: b.fingerprint, config, usage: { lastSeen: async () => null }, notifier: b.notifier, logger: b.logger, clock, env: process.env });
}

beforeEach(async () => {
  clock = new ManualClock(Date.now());
  b = await Bench.start({ clock });
});
afterEach(async () => b.close());

describe('parseCommandOutput', () => {
  it.each([
    ['a bare token line', `${'t'.repeat(43)}\n`, { token: 't'.repeat(43), client_id: CURRENT.client_id, client_secret: CURRENT.client_secret }],
    ['JSON with new app credentials', JSON.stringify({ access_token: 'n'.repeat(43), client_id: 'newid', client_secret: 'newsecret' }), { token: 'n'.repeat(43), client_id: 'newid', client_secret: 'newsecret' }],
  ])('%s', (_name, stdout, want) => {
    expect(parseCommandOutput(stdout, CURRENT)).toEqual(want);
  });

  it.each([
    ['empty output', ''],
    ['two lines', `${'a'.repeat(43)}\n${'b'.repeat(43)}\n`],
    ['a token with spaces', 'not a token at all'],
    ['JSON without access_token', '{"token":"zzzzzzzzzzzzzzzzzzzzzzzz"}'],
    ['broken JSON', `{"access_token": "${'s'.repeat(43)}"`],
  ])('refuses %s without quoting it', (_name, stdout) => {
    let err: unknown;
    try {
      parseCommandOutput(stdout, CURRENT);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ROTATION_FAILED' });
    if (stdout.length > 0) expect(errorText(err)).not.toContain(stdout.trim().slice(0, 40));
  });
});

describe('command rotation', () => {
  it('end to end: the script mints, tuskguard verifies and cuts over; stdout and stderr never logged', async () => {
    const { token: oldToken } = await b.addAppKey('bot', { rotation: { strategy: 'command' } });
    const svc = service([process.execPath, script('mint.mjs', MINT('process.env.TUSKGUARD_SCOPES'))]);
    const { rotation } = await svc.rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation.state).toBe('distributed');
    const newToken = (await b.vault.get('bot', b.inventory.require('bot').secret_version)).token;
    expect(b.simTokenState(newToken)).toBe('live');
    clock.advance(2 * 60_000);
    await svc.tick();
    expect(b.simTokenState(oldToken)).toBe('revoked');
    expect(b.leaks()).toEqual([]);
  });

  it('wrong scopes from the script: rolled back, its token revoked', async () => {
    const { token: oldToken } = await b.addAppKey('bot', { rotation: { strategy: 'command' } });
    const { rotation } = await service([process.execPath, script('narrow.mjs', MINT("'read'"))]).rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation).toMatchObject({ state: 'rolled-back', error: expect.stringMatching(/scopes \[read\]/) });
    expect(b.simTokenState(oldToken)).toBe('live');
    const minted = [...b.sim.state.tokens.values()].filter((t) => t.token !== oldToken);
    expect(minted.map((t) => t.revokedAt instanceof Date)).toEqual([true]);
    expect(b.leaks()).toEqual([]);
  });

  it.each([
    ['exits non-zero', () => [process.execPath, script('fail.mjs', `process.stdout.write('${'q'.repeat(43)}'); process.exit(3);`)], /exited with code 3/],
    ['times out', () => [process.execPath, script('slow.mjs', 'setTimeout(() => {}, 60_000);')], /killed/],
    ['is missing', () => [join(b.home, 'no-such-program')], /not found/],
    ['prints garbage', () => [process.execPath, script('junk.mjs', "console.log('hello world')")], /exactly one token line/],
  ])('a command that %s: rolled back with a clear reason, output not quoted', async (_name, argv, reason) => {
    await b.addAppKey('bot', { rotation: { strategy: 'command' } });
    const { rotation } = await service(argv(), '500ms').rotateKey({ keyId: 'bot', reason: 'r', trigger: 'manual' });
    expect(rotation.state).toBe('rolled-back');
    expect(rotation.error).toMatch(reason);
    expect(rotation.error).not.toContain('q'.repeat(43));
    expect(b.logLines.join('\n')).not.toContain('q'.repeat(43));
  });
});
