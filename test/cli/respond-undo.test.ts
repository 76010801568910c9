import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { MastodonBench } from '../respond/mastodon-bench.js';

// `tuskguard respond undo`: list and undo an IP block made by the block-ip action, through
// the real CLI against the simulator, with the admin key read from the vault.

let b: MastodonBench;
let undoId: number;

beforeAll(async () => {
  b = await MastodonBench.start();
  const { item } = b.userKey('instance-admin', b.owner, ['admin:read', 'admin:write']);
  await b.importKeys([item]);
  const r = await b.respond({ policies: [{ id: 'b', match: { rule: 'token-stuffing' }, actions: [{ type: 'block-ip', admin_key: 'instance-admin' }] }] });
  await r.dispatch(b.finding(null, { rule: 'token-stuffing', group: { 'source.network': '203.0.113.0/24' } }));
  await r.drain(5_000);
  undoId = (r.responder.outbox.list({ channel: 'block-ip' })[0]!.result as { undo_id: number }).undo_id;
  await r.close();
  b.response = null;
}, 30_000);
afterAll(async () => b.close());

const env = () => ({ ...b.env(), TUSKGUARD_HOME: b.home, TUSKGUARD_LOG_LEVEL: 'trace' });

describe('respond undo', () => {
  it('lists the block, undoes it once (audited), refuses a second undo, and prints no secret', async () => {
    const list = await runCli(['respond', 'undo', '--list', '-o', 'json'], { env: env() });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ id: undoId, action: 'block-ip', data: { ip: '203.0.113.0/24' }, undoneAt: null });
    expect(b.sim.state.ipBlocks.size).toBe(1);

    const done = await runCli(['respond', 'undo', String(undoId)], { env: env() });
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/IP block 203\.0\.113\.0\/24 .* removed/);
    expect(b.sim.state.ipBlocks.size).toBe(0);

    const again = await runCli(['respond', 'undo', String(undoId)], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already undone by cli:/);

    const audit = await runCli(['audit', 'list', '-o', 'json'], { env: env() });
    expect(audit.stdout).toContain('block-ip.undo');
    expect(b.leaks(list, done, again, audit)).toEqual([]);
  }, 60_000);

  it('says what to pass for a bad id, and needs the master key to act', async () => {
    const bad = await runCli(['respond', 'undo', 'x1'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/positive integer/);
    const noKey = await runCli(['respond', 'undo', '999'], { env: { ...env(), TUSKGUARD_MASTER_KEY: '' } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/TUSKGUARD_MASTER_KEY/);
  }, 60_000);
});
