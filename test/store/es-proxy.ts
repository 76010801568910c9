import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A small HTTP(S) proxy in front of the real Elasticsearch, for fault injection: it can answer
 * the first bulk requests with 429/503, turn chosen items of a bulk into per-item 429s (those
 * items are removed from what reaches Elasticsearch, so a store that does not retry them loses
 * them), hold bulk requests until released, and demand credentials. Everything else is
 * forwarded untouched. The real node does the actual indexing.
 */

export type BulkFault =
  | { kind: 'pass' }
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504 }
  | { kind: 'items'; status: 429 | 503; pick: (position: number) => boolean }
  | { kind: 'hold'; until: Promise<void> };

export interface ProxyOptions {
  /** Decide what to do with the n-th bulk request (0-based). Default: pass. */
  bulk?: (n: number) => BulkFault;
  /** Return false to answer 401 (credentials check). */
  authorize?: (authorization: string | undefined) => boolean;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'content-encoding']);

export class FaultProxy {
  /** Bulk requests received, in order, with how many items each carried. */
  readonly bulks: { items: number }[] = [];
  /** Authorization headers seen (to prove the client sent the configured credentials). */
  readonly authorizations: (string | undefined)[] = [];
  private server: Server | null = null;

  constructor(
    private readonly target: string,
    private readonly options: ProxyOptions = {},
  ) {}

  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res).catch((e: Error) => {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy error: ${e.message}`);
    });
    const server = this.options.tls ? createHttpsServer(this.options.tls, handler) : createHttpServer(handler);
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.authorizations.push(req.headers.authorization);
    if (this.options.authorize && !this.options.authorize(req.headers.authorization)) {
      return json(res, 401, { error: { type: 'security_exception', reason: 'unable to authenticate' }, status: 401 });
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path.endsWith('/_bulk')) return this.bulk(req, res, body);
    return this.forward(req, res, body);
  }

  private async bulk(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const lines = body.split('\n').filter((l) => l.length > 0);
    const n = this.bulks.length;
    this.bulks.push({ items: lines.length / 2 });
    const fault = this.options.bulk?.(n) ?? { kind: 'pass' };
    if (fault.kind === 'status') {
      return json(res, fault.status, { error: { type: 'injected', reason: `injected ${fault.status}` }, status: fault.status });
    }
    if (fault.kind === 'hold') await fault.until;
    if (fault.kind !== 'items') return this.forward(req, res, body);
    const keep: string[] = [];
    const failed = new Set<number>();
    for (let i = 0; i < lines.length / 2; i++) {
      if (fault.pick(i)) failed.add(i);
      else keep.push(lines[2 * i]!, lines[2 * i + 1]!);
    }
    let forwarded: { items?: unknown[] } = { items: [] };
    if (keep.length) {
      const upstream = await fetch(this.target + req.url, { method: 'POST', headers: headers(req), body: `${keep.join('\n')}\n` });
      forwarded = (await upstream.json()) as { items?: unknown[] };
    }
    const real = [...(forwarded.items ?? [])];
    const items = Array.from({ length: lines.length / 2 }, (_, i) =>
      failed.has(i) ? { index: { status: fault.status, error: { type: 'es_rejected_execution_exception', reason: 'injected' } } } : real.shift(),
    );
    return json(res, 200, { errors: true, items });
  }

  private async forward(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && body.length > 0;
    const upstream = await fetch(this.target + req.url, { method: req.method, headers: headers(req), body: hasBody ? body : undefined });
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!HOP.has(k)) out[k] = v;
    });
    res.writeHead(upstream.status, out).end(Buffer.from(await upstream.arrayBuffer()));
  }
}

function headers(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!HOP.has(k) && k !== 'authorization' && typeof v === 'string') out[k] = v;
  }
  return out;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' })
    .end(JSON.stringify(body));
}
