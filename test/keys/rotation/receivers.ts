import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver as a consumer would write one: it verifies `X-Tuskguard-Signature`
 * (HMAC-SHA256 over "<t>.<raw body>") in constant time before accepting a delivery.
 */
export interface WebhookReceiver {
  url: string;
  /** Accepted (signature-verified) bodies. */
  readonly accepted: Array<Record<string, unknown>>;
  /** Requests refused for a bad or missing signature. */
  rejected: number;
  /** Answer with this status instead of 204 (after verifying). */
  failWith: number | null;
  close(): Promise<void>;
}

export function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(?<t>\d+),v1=(?<sig>[0-9a-f]{64})$/.exec(header ?? '');
  if (!m?.groups) return false;
  const want = createHmac('sha256', secret).update(`${m.groups.t}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m.groups.sig!, 'hex'));
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const r = { accepted: [], rejected: 0, failWith: null } as unknown as WebhookReceiver;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (!verifySignature(secret, req.headers['x-tuskguard-signature'] as string | undefined, body)) {
        r.rejected += 1;
        res.writeHead(401).end();
        return;
      }
      if (r.failWith !== null) {
        res.writeHead(r.failWith).end();
        return;
      }
      r.accepted.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}
