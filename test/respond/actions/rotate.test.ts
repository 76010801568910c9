import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { MastodonBench } from '../mastodon-bench.js';

// The rotate action: an event-triggered rotation (src/keys/rotation) through the outbox.

let b: MastodonBench;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => b.close());

function inventory<T>(fn: (inv: KeyInventory) => T): T {
  const db = openKeysDb(b.home);
  try {
    return fn(new KeyInventory(db));
  } finally {
    db.close();
  }
}

describe('rotate', () => {
  it('rotates an app key on an event: a new live token in the vault, the old one revoked at once with immediate', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    const before = inventory((i) => i.require('bot').fingerprint);
    const r = await b.respond({ policies: [{ id: 'rotate-high', match: { severity: 'high' }, actions: [{ type: 'rotate', immediate: true }] }] });

    const report = await r.dispatch(b.finding('bot'));
    expect(report.outcomes[0]).toMatchObject({ action: 'rotate', status: 'queued' });
    expect(await r.drain(10_000)).toMatchObject({ drained: true, dead: 0 });

    const job = r.responder.outbox.list({ channel: 'rotate' })[0]!;
    expect(job).toMatchObject({ status: 'done', result: { created: true, strategy: 'client_credentials' } });
    const after = inventory((i) => i.require('bot'));
    expect(after.fingerprint).not.toBe(before);
    expect(b.tokenState(token)).toBe('revoked');
    const live = [...b.sim.state.tokens.values()].filter((t) => t.revokedAt === null);
    expect(live.map((t) => b.fingerprint(t.token))).toContain(after.fingerprint);
    const rotation = r.responder.audit.list({ limit: 100 }).find((a) => a.action === 'rotate.delivered')!;
    expect(rotation.details.result).toMatchObject({ rotation: job.result && (job.result as { rotation: string }).rotation });
    expect(b.leaks(r.responder.audit.list({ limit: 100 }), r.responder.outbox.list({}))).toEqual([]);
  });

  it('dead-letters a rotation that can never work (a user key without a strategy) with the reason', async () => {
    const alice = b.sim.createUser({ username: 'alice' });
    const { item } = b.userKey('alice-key', alice, ['read']);
    await b.importKeys([item]);
    const r = await b.respond({ policies: [{ id: 'rotate-high', match: { severity: 'high' }, actions: [{ type: 'rotate' }] }] });

    await r.dispatch(b.finding('alice-key'));
    expect(await r.drain(5_000)).toMatchObject({ drained: true, dead: 1 });
    expect(r.responder.outbox.list({ channel: 'rotate' })[0]!.lastError).toMatch(/no rotation strategy/);
  });
});
