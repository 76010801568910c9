import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { openKeysDb } from '../../../src/keys/db.js';
import { KeyInventory } from '../../../src/keys/inventory.js';
import { REVOKE_RETRY_CHANNEL } from '../../../src/keys/revocation/retry.js';
import type { Notice } from '../../../src/keys/revocation/types.js';
import { startKeyLifecycle, type RunningLifecycle } from '../../../src/keys/rotation/runtime.js';
import { MastodonBench, until } from '../../respond/mastodon-bench.js';

/**
 * A revocation the responder queued while Mastodon was down is `revoke-pending` with a live
 * `revoke` job in the outbox. After a restart, `serve` starts the key lifecycle (whose retry
 * runtime resumes every pending revocation) and the responder (whose worker resumes its job).
 * Mastodon must then be asked to revoke the token once, and people told once.
 */
const REVOKE = { policies: [{ id: 'revoke-high', match: { severity: 'high', managed_key: true }, actions: [{ type: 'revoke' }] }] };

let b: MastodonBench;
let lifecycle: RunningLifecycle | null = null;
beforeEach(async () => {
  b = await MastodonBench.start();
});
afterEach(async () => {
  await lifecycle?.stop();
  lifecycle = null;
  await b.close();
});

function keyStatus(id: string): string | undefined {
  const db = openKeysDb(b.home);
  try {
    return new KeyInventory(db).get(id)?.status;
  } finally {
    db.close();
  }
}

const revokeCalls = (): number => b.sim.logLines.filter((l) => l.includes('/oauth/revoke')).length;

describe('pending revocations after a restart', () => {
  it('are sent to Mastodon once, with one completion record and one notice, when the responder job and the start-up retry both hold it', async () => {
    const { token, item } = await b.appKey('bot');
    await b.importKeys([item]);
    let r = await b.respond(REVOKE);
    await b.sim.setDown(true);
    await r.dispatch(b.finding('bot'));
    await until(() => keyStatus('bot') === 'revoke-pending', 5_000);
    await r.close();
    b.response = null;
    const before = revokeCalls();

    // The restart, wired as `serve` wires it: the key lifecycle first, then the responder.
    await b.sim.setDown(false);
    const notices: Notice[] = [];
    const loaded = { config: validateConfig({ home: b.home, revocation: { retry_base: '10ms', retry_max: '50ms' } }), home: b.home, file: null };
    lifecycle = await startKeyLifecycle({ loaded, logger: b.logger, env: b.env(), events: null, notifier: (n) => void notices.push(n) });
    r = await b.respond(REVOKE);
    await until(() => keyStatus('bot') === 'revoked', 5_000);
    expect(await r.drain(5_000)).toMatchObject({ drained: true, pending: 0 });
    const retries = lifecycle!.lifecycle.outbox;
    await until(() => retries.counts([REVOKE_RETRY_CHANNEL]).pending + retries.counts([REVOKE_RETRY_CHANNEL]).leased === 0, 5_000);
    await new Promise((res) => setTimeout(res, 300)); // a second delivery would land meanwhile

    expect(b.tokenState(token)).toBe('revoked');
    expect(revokeCalls() - before).toBe(1);
    const done = r.responder.audit.list({ limit: 100 }).filter((a) => a.action === 'key.revoke' && a.result === 'done');
    expect(done).toHaveLength(1);
    // The lifecycle's notices land in `notices`, the responder's info notices in its log.
    const completed = notices.filter((n) => n.kind === 'revoke-completed').length + b.logLines.filter((l) => l.includes('"notice":"revoke-completed"')).length;
    expect(completed).toBe(1);
    expect(retries.list({ channel: REVOKE_RETRY_CHANNEL }).map((j) => [j.status, j.result])).toEqual([['done', { outcome: 'revoked' }]]);
    expect(b.leaks(notices)).toEqual([]);
  });
});
