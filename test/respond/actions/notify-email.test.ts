import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SmtpTestServer } from '../../helpers/smtp.js';
import { finding, RAW_TOKEN } from '../fixtures.js';
import { capturedLogger, harness, type Harness } from '../harness.js';

const POLICY = { policies: [{ id: 'alert-mail', actions: [{ type: 'notify-email' }] }] };
const CREDS = { user: 'alerts', pass: 'sm7p-Pa55word-never-logged' };

describe('notify-email against a real SMTP server', () => {
  let smtp: SmtpTestServer;
  let h: Harness | null = null;

  beforeAll(async () => {
    smtp = await SmtpTestServer.start(CREDS);
  });
  afterAll(async () => {
    await smtp.close();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
    smtp.messages.length = 0;
    smtp.tempFail(false);
    await smtp.up();
  });

  function env(url = smtp.url()): NodeJS.ProcessEnv {
    return { TUSKGUARD_SMTP_URL: url, TUSKGUARD_ALERT_EMAIL_FROM: 'tuskguard@example.org', TUSKGUARD_ALERT_EMAIL_TO: 'oncall@example.org, sec@example.org' };
  }

  it('sends HTML and plain text with the evidence, never the token or the SMTP password', async () => {
    const log = capturedLogger();
    h = harness(POLICY, env(), { logger: log.logger });
    await h.responder.dispatcher.dispatch(finding());
    expect(await h.responder.worker.drain(10_000)).toMatchObject({ drained: true, dead: 0 });
    expect(smtp.messages).toHaveLength(1);
    const [mail] = smtp.messages;
    expect(mail!.from).toBe('tuskguard@example.org');
    expect(mail!.to).toEqual(['oncall@example.org', 'sec@example.org']);
    expect(mail!.parsed.subject).toBe('[tuskguard] CRITICAL admin-mass-action on moderation-bot');
    const text = mail!.parsed.text ?? '';
    const html = typeof mail!.parsed.html === 'string' ? mail!.parsed.html : '';
    for (const body of [text, html]) {
      expect(body).toContain('moderation-bot made 42 admin write actions within 5m');
      expect(body).toContain('fp_3b9ac4d1e2f0a7c6');
      expect(body).toMatch(/threshold: (<b>)?10/);
      expect(body).toContain('access_token=[REDACTED]');
    }
    expect(html).toContain('<h3>Evidence</h3>');
    expect(mail!.parsed.headers.get('x-tuskguard-delivery')).toBe('f-admin-mass-action-bot-1:notify-email:email');
    for (const where of [mail!.raw, log.text(), JSON.stringify(h.responder.outbox.list())]) {
      expect(where).not.toContain(RAW_TOKEN);
      expect(where).not.toContain(CREDS.pass);
    }
  });

  it('keeps the alert while the SMTP server is down or answers 451, and delivers it when it is back', async () => {
    h = harness(POLICY, env());
    await smtp.down();
    await h.responder.dispatcher.dispatch(finding());
    h.responder.worker.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(['pending', 'leased']).toContain(h.responder.outbox.list()[0]!.status);
    expect(h.responder.outbox.list()[0]!.attempts).toBeGreaterThan(1);
    expect(h.responder.outbox.list()[0]!.lastError).toMatch(/SMTP delivery failed \(ESOCKET: .*ECONNREFUSED/);
    await smtp.up();
    smtp.tempFail(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.responder.outbox.list()[0]!.lastError).toMatch(/451/);
    smtp.tempFail(false);
    expect(await h.responder.worker.drain(10_000)).toMatchObject({ drained: true, dead: 0 });
    expect(smtp.messages).toHaveLength(1);
  });

  it('dead-letters a failed login at once, and the error names neither the URL nor the password', async () => {
    const wrong = { user: 'alerts', pass: 'wrong-Pa55word-secret' };
    h = harness(POLICY, env(smtp.url(wrong)));
    await h.responder.dispatcher.dispatch(finding());
    expect(await h.responder.worker.drain(10_000)).toMatchObject({ drained: true, dead: 1 });
    const [job] = h.responder.outbox.list({ status: 'dead' });
    expect(job!.lastError).toMatch(/EAUTH/);
    expect(job!.lastError).not.toContain(wrong.pass);
    expect(JSON.stringify(h.responder.audit.list())).not.toContain(wrong.pass);
  });
});
