import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body as sent (webhook signatures are computed over it). */
  raw: string;
  /** The body parsed as JSON, or null. */
  json: unknown;
}

/**
 * A local HTTP receiver standing in for Slack's incoming-webhook endpoint (and any webhook
 * receiver): it records every request and answers like Slack (`200 ok`), or as told:
 * `status(500)` for an outage, `down()` to refuse connections, `up()` to come back on the
 * same port.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private answer = 200;
  private server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  private constructor() {
    this.server = this.create();
  }

  static async start(): Promise<HttpReceiver> {
    const r = new HttpReceiver();
    await r.listen(0);
    return r;
  }

  /** JSON bodies received so far. */
  get bodies(): unknown[] {
    return this.requests.map((r) => r.json);
  }

  /** A Slack-shaped webhook URL on this receiver; the path stands for the secret part. */
  url(path = '/services/T0001/B0001/s3cr3tPathPart'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answer every later request with this status (200 = healthy). */
  status(code: number): void {
    this.answer = code;
  }

  /** Stop listening and drop open connections: clients now get ECONNREFUSED. */
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listen again on the same port. */
  async up(): Promise<void> {
    this.server = this.create();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  /** Resolve once `n` requests have arrived (or reject after `timeoutMs`). */
  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > end) throw new Error(`expected ${n} requests, got ${this.requests.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private create(): Server {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(raw);
        } catch {
          json = null;
        }
        if (this.answer === 200) this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, json });
        res.writeHead(this.answer, { 'content-type': 'text/plain' }).end(this.answer === 200 ? 'ok' : 'internal_error');
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
}
