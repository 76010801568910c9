import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../../src/respond/actions/webhook/sign.js';
import { HttpReceiver } from '../../helpers/slack-receiver.js';
import { finding } from '../fixtures.js';
import { harness, type Harness } from '../harness.js';

const SECRET = 'whsec-0123456789abcdef0123456789abcdef';

describe('webhook action against a local receiver', () => {
  let receiver: HttpReceiver;
  let h: Harness | null = null;

  beforeAll(async () => {
    receiver = await HttpReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
    receiver.requests.length = 0;
    receiver.status(200);
  });

  function policy(extra: Record<string, unknown> = {}) {
    return { policies: [{ id: 'soar', actions: [{ type: 'webhook', name: 'soar', url: receiver.url('/hooks/tuskguard'), secret_env: 'SOAR_SECRET', ...extra }] }] };
  }

  it('POSTs signed JSON that a receiver verifies; the delivery key is stable', async () => {
    h = harness(policy(), { SOAR_SECRET: SECRET });
    await h.responder.dispatcher.dispatch(finding());
    expect(await h.responder.worker.drain(5_000)).toMatchObject({ drained: true });
    const [req] = receiver.requests;
    expect(req!.headers['content-type']).toBe('application/json');
    const check = verifyWebhook(SECRET, { timestamp: req!.headers['x-tuskguard-timestamp'] as string, signature: req!.headers['x-tuskguard-signature'] as string, body: req!.raw });
    expect(check).toEqual({ ok: true });
    expect(verifyWebhook('wrong-secret', { timestamp: req!.headers['x-tuskguard-timestamp'] as string, signature: req!.headers['x-tuskguard-signature'] as string, body: req!.raw })).toEqual({ ok: false, reason: 'mismatch' });
    expect(req!.headers['x-tuskguard-delivery']).toBe('f-admin-mass-action-bot-1:webhook:webhook:soar');
    expect(req!.json).toMatchObject({ version: 1, type: 'tuskguard.alert', id: 'f-admin-mass-action-bot-1:webhook:webhook:soar', finding: { rule: 'admin-mass-action' }, alert: { severity: 'critical', key: { id: 'moderation-bot' } } });
    expect(req!.raw).not.toContain(SECRET);
    expect(JSON.stringify(h.responder.outbox.list())).not.toContain(SECRET);
  });

  it('rejects stale timestamps and tampered bodies (replay window)', () => {
    const body = '{"a":1}';
    const sig = signWebhook(SECRET, 1_000_000, body);
    expect(verifyWebhook(SECRET, { timestamp: '1000000', signature: sig, body }, { nowSeconds: 1_000_100 })).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, { timestamp: '1000000', signature: sig, body }, { nowSeconds: 1_000_400 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(SECRET, { timestamp: '1000000', signature: sig, body: '{"a":2}' }, { nowSeconds: 1_000_000 })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook(SECRET, { timestamp: undefined, signature: sig, body }, { nowSeconds: 1_000_000 })).toEqual({ ok: false, reason: 'missing' });
  });

  it('retries while the receiver is down and re-signs each attempt', async () => {
    h = harness(policy(), { SOAR_SECRET: SECRET });
    await receiver.down();
    await h.responder.dispatcher.dispatch(finding());
    h.responder.worker.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(h.responder.outbox.list()[0]!.lastError).toMatch(/webhook soar unreachable \(ECONNREFUSED\)/);
    await receiver.up();
    expect(await h.responder.worker.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('fails (and audits) when the secret variable is unset', async () => {
    h = harness(policy(), {});
    const report = await h.responder.dispatcher.dispatch(finding());
    expect(report.outcomes[0]).toMatchObject({ status: 'failed', message: 'SOAR_SECRET is not set; webhook soar was not queued' });
    expect(h.responder.audit.head()).toMatchObject({ action: 'webhook', result: 'failed', target: 'webhook:soar' });
  });
});
