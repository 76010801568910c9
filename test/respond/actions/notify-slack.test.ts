import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIONS } from '../../../src/respond/actions/registry.js';
import { validatePolicies } from '../../../src/respond/policies.js';
import { createResponder } from '../../../src/respond/responder.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpReceiver } from '../../helpers/slack-receiver.js';
import { finding, keyLookup, RAW_TOKEN } from '../fixtures.js';
import { capturedLogger, harness, ShiftClock, type Harness } from '../harness.js';

const POLICY = { policies: [{ id: 'alert-slack', actions: [{ type: 'notify-slack' }] }] };

describe('notify-slack against a local webhook receiver', () => {
  let slack: HttpReceiver;
  let h: Harness | null = null;
  const log = capturedLogger();

  beforeAll(async () => {
    slack = await HttpReceiver.start();
  });
  afterAll(async () => {
    await slack.close();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
    slack.requests.length = 0;
    slack.status(200);
    if (!slack.port) await slack.up();
  });

  function secretsAbsent(text: string): void {
    expect(text).not.toContain(RAW_TOKEN);
    expect(text).not.toContain('s3cr3tPathPart');
  }

  it('posts Block Kit with key, fingerprint, rule, severity, evidence and actions, never a secret', async () => {
    h = harness(POLICY, { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() }, { logger: log.logger });
    const report = await h.responder.dispatcher.dispatch(finding());
    expect(report.outcomes).toMatchObject([{ action: 'notify-slack', status: 'queued', target: 'slack' }]);
    expect(await h.responder.worker.drain(5_000)).toMatchObject({ drained: true });
    expect(slack.requests).toHaveLength(1);
    const body = slack.bodies[0] as { text: string; blocks: Array<Record<string, unknown>> };
    const text = JSON.stringify(body);
    expect(body.blocks[0]).toMatchObject({ type: 'header' });
    expect(text).toContain('CRITICAL');
    expect(text).toContain('admin-mass-action');
    expect(text).toContain('moderation-bot');
    expect(text).toContain('fp_3b9ac4d1e2f0a7c6');
    expect(text).toMatch(/count\*?: \*42\*/);
    expect(text).toContain('threshold: *10*');
    expect(text).toContain('admin:write:accounts');
    expect(text).toContain('access_token=[REDACTED]');
    secretsAbsent(text);
    const audit = readFileSync(join(h.home, 'audit.log'), 'utf8');
    expect(audit).toContain('"action":"notify-slack.delivered"');
    secretsAbsent(audit);
    secretsAbsent(JSON.stringify(h.responder.outbox.list()));
    secretsAbsent(log.text());
  });

  it('loses nothing while Slack refuses connections or answers 500, and delivers once it is back', async () => {
    const clock = new ShiftClock();
    h = harness(POLICY, { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() }, { clock, logger: log.logger });
    await slack.down();
    await h.responder.dispatcher.dispatch(finding());
    await h.responder.dispatcher.dispatch(finding({ id: 'f-other-key', key: 'posting-bot', fingerprint: 'fp_aa11bb22cc33dd44' }));
    h.responder.worker.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(h.responder.outbox.counts()).toMatchObject({ done: 0, dead: 0 });
    expect(h.responder.outbox.list()[0]!.lastError).toMatch(/Slack webhook unreachable \(ECONNREFUSED\)/);
    await slack.up();
    slack.status(500);
    await new Promise((r) => setTimeout(r, 150));
    expect(slack.requests).toHaveLength(0);
    expect(h.responder.outbox.list()[0]!.lastError).toBe('Slack answered HTTP 500');
    slack.status(200);
    expect(await h.responder.worker.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
    expect(slack.requests).toHaveLength(2);
    secretsAbsent(log.text());
  });

  it('a restart resumes the alerts queued while Slack was down', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tg-restart-'));
    const env = { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() };
    const open = () => createResponder({ home, env, keyInfo: keyLookup, policies: validatePolicies({ version: 1, ...POLICY }, ACTIONS), worker: { pollMs: 10, backoff: { baseMs: 20, maxMs: 50 } } });
    await slack.down();
    const first = open();
    await first.dispatcher.dispatch(finding());
    first.worker.start();
    await new Promise((r) => setTimeout(r, 100));
    await first.close(); // the process stops with the alert undelivered
    await slack.up();
    const second = open();
    try {
      expect(await second.worker.drain(5_000)).toMatchObject({ drained: true, dead: 0 });
      expect(slack.requests).toHaveLength(1);
      expect(JSON.stringify(slack.bodies[0])).toContain('admin-mass-action');
    } finally {
      await second.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('dead-letters a request Slack rejects (400) without retrying, the URL absent from the error', async () => {
    h = harness(POLICY, { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() });
    slack.status(400);
    await h.responder.dispatcher.dispatch(finding());
    expect(await h.responder.worker.drain(5_000)).toMatchObject({ drained: true, dead: 1 });
    const [job] = h.responder.outbox.list({ status: 'dead' });
    expect(job).toMatchObject({ attempts: 1, lastError: 'Slack answered HTTP 400' });
    expect(h.responder.audit.list({ order: 'desc', limit: 1 })[0]).toMatchObject({ action: 'notify-slack.dead-lettered', result: 'failed' });
  });

  it('folds repeated findings of one rule + key into one digest with a count', async () => {
    h = harness(POLICY, { TUSKGUARD_SLACK_WEBHOOK_URL: slack.url() });
    const outcomes = [];
    for (let i = 1; i <= 4; i++) outcomes.push(...(await h.responder.dispatcher.dispatch(finding({ id: `f-${i}` }))).outcomes);
    expect(outcomes.map((o) => o.status)).toEqual(['queued', 'grouped', 'grouped', 'grouped']);
    expect(await h.responder.worker.drain(300)).toMatchObject({ drained: false, pending: 1 });
    expect(slack.requests).toHaveLength(1);
    expect(await h.responder.worker.drain(5_000, { releaseScheduled: true })).toMatchObject({ drained: true });
    expect(slack.requests).toHaveLength(2);
    expect((slack.bodies[1] as { text: string }).text).toMatch(/3 more findings of admin-mass-action on moderation-bot since/);
  });

  it('skips (and audits) when TUSKGUARD_SLACK_WEBHOOK_URL is not set', async () => {
    h = harness(POLICY, {});
    const report = await h.responder.dispatcher.dispatch(finding());
    expect(report.outcomes[0]).toMatchObject({ status: 'skipped' });
    expect(report.outcomes[0]!.message).toContain('TUSKGUARD_SLACK_WEBHOOK_URL is not set');
    expect(h.responder.outbox.counts()).toMatchObject({ pending: 0 });
  });
});
