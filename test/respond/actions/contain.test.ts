import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { loadLocalKek } from '../../../src/keys/kms.js';
import { Vault } from '../../../src/keys/vault.js';
import { MastodonClient } from '../../../src/mastodon/client.js';
import { blockRange } from '../../../src/respond/actions/block-ip/index.js';
import { UndoLog, undoAction } from '../../../src/respond/undo.js';
import { MastodonBench } from '../mastodon-bench.js';

// suspend-account and block-ip against the simulator's admin API, with the admin key from the
// inventory, and their undo path.

let b: MastodonBench;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => b.close());

async function withAdmin(): Promise<void> {
  const { item } = b.userKey('instance-admin', b.owner, ['admin:read', 'admin:write']);
  await b.importKeys([item]);
}

/** Undo as the CLI does: the admin key's token from the vault, the real client. */
async function undo(id: number) {
  const db = openKeysDb(b.home);
  try {
    const vault = await Vault.open(db, loadLocalKek(b.env())!);
    const inv = new KeyInventory(db);
    const audit: string[] = [];
    const report = await undoAction(id, 'cli:alice', {
      log: new UndoLog(db),
      token: async (k) => (await vault.get(k, inv.require(k).secret_version)).token,
      admin: new MastodonClient({ timeoutMs: 1_500 }),
      audit: (e) => audit.push(e.action),
    });
    return { report, audit };
  } finally {
    db.close();
  }
}

const SUSPEND = { policies: [{ id: 's', match: { severity: 'high' }, actions: [{ type: 'suspend-account', admin_key: 'instance-admin' }] }] };

describe('suspend-account', () => {
  it("suspends the key owner's account (found through the token), records the undo, and undo unsuspends", async () => {
    await withAdmin();
    const alice = b.sim.createUser({ username: 'alice' });
    const { item } = b.userKey('alice-key', alice, ['read']);
    await b.importKeys([item]);
    const r = await b.respond(SUSPEND);

    expect((await r.dispatch(b.finding('alice-key'))).outcomes[0]).toMatchObject({ status: 'queued' });
    expect(await r.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    const account = b.sim.state.accounts.get(alice.accountId)!;
    expect(account.suspendedAt).not.toBeNull();
    const job = r.responder.outbox.list({ channel: 'suspend-account' })[0]!;
    const result = job.result as { account_id: string; undo_id: number; undo: string };
    expect(result).toMatchObject({ account_id: alice.accountId, undo: `tuskguard respond undo ${result.undo_id}` });
    await r.close();
    b.response = null;

    const { report, audit } = await undo(result.undo_id);
    expect(report).toMatchObject({ outcome: 'undone', action: 'suspend-account' });
    expect(account.suspendedAt).toBeNull();
    expect(audit).toEqual(['suspend-account.undo']);
    await expect(undo(result.undo_id)).rejects.toThrow(/already undone/);
    expect(b.leaks(job)).toEqual([]);
  });

  it('takes the account id from the mastodon_account_id label, and skips app-only keys', async () => {
    await withAdmin();
    const bob = b.sim.createUser({ username: 'bob' });
    // A token without a read scope cannot name its account: the label does.
    const { item } = b.userKey('bob-key', bob, ['write:statuses'], { labels: { mastodon_account_id: bob.accountId } });
    const { item: app } = await b.appKey('app-bot');
    await b.importKeys([item, app]);
    const r = await b.respond(SUSPEND);

    await r.dispatch(b.finding('bob-key'));
    const appOutcome = (await r.dispatch(b.finding('app-bot'))).outcomes[0];
    await r.drain(5_000);
    expect(b.sim.state.accounts.get(bob.accountId)!.suspendedAt).not.toBeNull();
    expect(appOutcome).toMatchObject({ status: 'skipped', message: expect.stringContaining('app-only') });
  });

  it('dead-letters with a reason when the admin key belongs to another instance', async () => {
    const { item } = b.userKey('instance-admin', b.owner, ['admin:read', 'admin:write'], { instance: 'https://other.example' });
    const alice = b.sim.createUser({ username: 'alice' });
    const { item: key } = b.userKey('alice-key', alice, ['read']);
    await b.importKeys([item, key]);
    const r = await b.respond(SUSPEND);
    await r.dispatch(b.finding('alice-key'));
    expect(await r.drain(5_000)).toMatchObject({ dead: 1 });
    expect(r.responder.outbox.list({ channel: 'suspend-account' })[0]!.lastError).toMatch(/belongs to https:\/\/other\.example/);
    expect(b.sim.state.accounts.get(alice.accountId)!.suspendedAt).toBeNull();
  });
});

describe('block-ip', () => {
  const BLOCK = { policies: [{ id: 'b', match: { rule: 'token-stuffing' }, actions: [{ type: 'block-ip', admin_key: 'instance-admin', expires_in: '2h' }] }] };
  const stuffing = (net: string) => b.finding(null, { rule: 'token-stuffing', group: { 'source.network': net } });

  it('blocks the network with an expiry, records the block id, and undo deletes it', async () => {
    await withAdmin();
    const r = await b.respond(BLOCK);

    expect((await r.dispatch(stuffing('203.0.113.0/24'))).outcomes[0]).toMatchObject({ status: 'queued', target: '203.0.113.0/24' });
    expect(await r.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    const blocks = [...b.sim.state.ipBlocks.values()];
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.severity).toBe('no_access');
    const hours = (blocks[0]!.expiresAt!.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2);
    const result = r.responder.outbox.list({ channel: 'block-ip' })[0]!.result as { ip_block_id: string; undo_id: number };
    expect(result.ip_block_id).toBe(blocks[0]!.id);
    await r.close();
    b.response = null;

    expect((await undo(result.undo_id)).report.outcome).toBe('undone');
    expect(b.sim.state.ipBlocks.size).toBe(0);
  });

  it('treats a block Mastodon already dropped as undone', async () => {
    await withAdmin();
    const r = await b.respond(BLOCK);
    await r.dispatch(stuffing('198.51.100.0/24'));
    await r.drain(5_000);
    const { undo_id } = r.responder.outbox.list({ channel: 'block-ip' })[0]!.result as { undo_id: number };
    b.sim.state.ipBlocks.clear();
    expect((await undo(undo_id)).report.outcome).toBe('already-gone');
  });

  it('refuses ranges that are too wide, loopback and non-addresses, before anything is queued', async () => {
    await withAdmin();
    const r = await b.respond(BLOCK);
    for (const net of ['10.0.0.0/8', '127.0.0.1', 'not-an-ip']) {
      expect((await r.dispatch(stuffing(net))).outcomes[0]).toMatchObject({ status: 'skipped' });
    }
    expect(r.responder.outbox.list({ channel: 'block-ip' })).toEqual([]);
  });

  it.each([
    ['203.0.113.7', { cidr: '203.0.113.7/32' }],
    ['203.0.113.0/24', { cidr: '203.0.113.0/24' }],
    ['2001:db8::1', { cidr: '2001:db8::1/128' }],
    ['2001:db8::/16', { refused: expect.stringContaining('wider than /32') }],
    ['10.0.0.0/8', { refused: expect.stringContaining('wider than /16') }],
    ['::1', { refused: expect.stringContaining('loopback') }],
    ['1.2.3.4/33', null],
    ['1.2.3.4/24/1', null],
    [`${'9'.repeat(10_000)}`, null],
  ])('blockRange(%s)', (input, expected) => {
    expect(blockRange(input)).toEqual(expected);
  });
});
