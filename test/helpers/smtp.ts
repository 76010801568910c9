import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string | null;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server (smtp-server) that records every message, for alert tests. STARTTLS is
 * disabled (the package's built-in certificate has expired) and AUTH is optional; when
 * `credentials` are given, a client that does log in must use them. `down()` refuses
 * connections, `up()` listens again on the same port, `tempFail(true)` answers 451 to DATA.
 */
export class SmtpTestServer {
  readonly messages: ReceivedMail[] = [];
  port = 0;
  private server: SMTPServer;
  private failing = false;

  private constructor(private readonly credentials: { user: string; pass: string } | null) {
    this.server = this.create();
  }

  static async start(credentials: { user: string; pass: string } | null = null): Promise<SmtpTestServer> {
    const s = new SmtpTestServer(credentials);
    await s.listen(0);
    return s;
  }

  /** A nodemailer connection URL for this server (with the credentials, if any). */
  url(credentials = this.credentials): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@` : '';
    return `smtp://${auth}127.0.0.1:${this.port}`;
  }

  tempFail(on: boolean): void {
    this.failing = on;
  }

  get listening(): boolean {
    return this.server.server.listening;
  }

  async down(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listen again on the same port (no-op when listening). */
  async up(): Promise<void> {
    if (this.listening) return;
    this.server = this.create();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down().catch(() => undefined);
  }

  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      if (Date.now() > end) throw new Error(`expected ${n} messages, got ${this.messages.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private create(): SMTPServer {
    return new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) => {
        const ok = this.credentials && auth.username === this.credentials.user && auth.password === this.credentials.pass;
        cb(ok ? null : Object.assign(new Error('Invalid username or password'), { responseCode: 535 }), ok ? { user: auth.username } : undefined);
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.failing) return cb(Object.assign(new Error('try again later'), { responseCode: 451 }));
          const raw = Buffer.concat(chunks).toString('utf8');
          void simpleParser(raw).then((parsed) => {
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
            this.messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
            cb();
          }, cb);
        });
      },
    });
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
}
