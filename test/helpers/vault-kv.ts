import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for HashiCorp Vault's KV version 2 HTTP API, as a test peer: no Vault
 * server can run here. It implements only what tuskguard's `vault-kv` target calls, with
 * Vault's shapes: `PUT`/`POST /v1/<mount>/data/<path>` with `{"data": {...}}` → 200
 * `{"data": {"version", "created_time", ...}}`; `GET` the same → `{"data": {"data", "metadata"}}`;
 * 404 `{"errors": []}` for an unknown path; 403 `{"errors": ["permission denied"]}` without the
 * right `X-Vault-Token`; 400 for a body without `data`. Each write adds a version.
 */
export interface VaultKvPeer {
  url: string;
  mount: string;
  token: string;
  /** path → versions (oldest first). */
  readonly secrets: Map<string, Array<Record<string, unknown>>>;
  /** Every request's method, path and X-Vault-Token presence (never bodies). */
  readonly requests: Array<{ method: string; path: string; authorized: boolean }>;
  /** Answer every request with this status (simulates a sealed or broken Vault); null = normal. */
  failWith: number | null;
  latest(path: string): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

export async function startVaultKv(options: { mount?: string; token?: string } = {}): Promise<VaultKvPeer> {
  const mount = options.mount ?? 'secret';
  const token = options.token ?? 'hvs.test-root-token-0123456789';
  const peer = { mount, token, secrets: new Map(), requests: [], failWith: null } as unknown as VaultKvPeer;
  const prefix = `/v1/${mount}/data/`;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const authorized = req.headers['x-vault-token'] === token;
    peer.requests.push({ method: req.method ?? '', path, authorized });
    if (peer.failWith !== null) return send(res, peer.failWith, { errors: ['Vault is sealed'] });
    if (!path.startsWith(prefix)) return send(res, 404, { errors: [`no handler for route "${path}"`] });
    if (!authorized) return send(res, 403, { errors: ['permission denied'] });
    const key = path.slice(prefix.length);
    const versions = peer.secrets.get(key) ?? [];
    if (req.method === 'GET') {
      const data = versions.at(-1);
      if (!data) return send(res, 404, { errors: [] });
      return send(res, 200, { data: { data, metadata: { version: versions.length, created_time: new Date().toISOString(), destroyed: false } } });
    }
    if (req.method !== 'PUT' && req.method !== 'POST') return send(res, 405, { errors: ['unsupported operation'] });
    let body: { data?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as { data?: unknown };
    } catch {
      return send(res, 400, { errors: ['failed to parse JSON input'] });
    }
    if (typeof body.data !== 'object' || body.data === null) return send(res, 400, { errors: ['no data provided'] });
    versions.push(body.data as Record<string, unknown>);
    peer.secrets.set(key, versions);
    send(res, 200, { data: { version: versions.length, created_time: new Date().toISOString(), deletion_time: '', destroyed: false } });
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  peer.latest = (p) => peer.secrets.get(p)?.at(-1);
  peer.close = () => new Promise((resolve) => server.close(() => resolve()));
  return peer;
}
