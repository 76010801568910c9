import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';

/** What the upstream saw of one proxied request. */
export interface SeenRequest {
  method: string;
  url: string;
  requestId: string | undefined;
  body: string;
}

export interface EchoUpstream {
  url: string;
  /** Requests in arrival order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A stand-in for Mastodon behind nginx: answers every request with JSON, echoes the
 * X-Request-Id it received (as Rails does), and answers /api/v1/streaming like the streaming
 * server (an SSE heartbeat and an event, then end).
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const requestId = header(req, 'x-request-id');
      seen.push({ method: req.method ?? '', url: req.url ?? '', requestId, body });
      if (requestId) res.setHeader('X-Request-Id', requestId);
      if ((req.url ?? '').startsWith('/api/v1/streaming')) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(':)\n');
        setTimeout(() => res.end('event: update\ndata: {"id":"1"}\n\n'), 20);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Send raw bytes as one HTTP/1.1 request (for header shapes fetch would normalise: odd
 * whitespace, duplicate headers) and resolve with the response status. An array is written
 * part by part, 50 ms apart, so nginx receives the body in several reads.
 */
export function rawRequest(port: number, request: string | string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no HTTP status in response (${response.length} bytes)`));
    });
    // write, not end: nginx treats a half-closed client as gone (499) while it proxies.
    const parts = Array.isArray(request) ? request : [request];
    parts.forEach((part, i) => setTimeout(() => socket.write(part), i * 50));
  });
}

/**
 * A request line plus headers (and optional body) with CRLFs and `Connection: close`. A body
 * given as parts is sent chunked (Transfer-Encoding), one chunk per part.
 */
export function rawHttp(target: string, headers: string[], body: string | string[] = '', method = 'GET'): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...headers];
  if (Array.isArray(body)) {
    lines.push('Transfer-Encoding: chunked');
    const chunks = body.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('');
    return `${lines.join('\r\n')}\r\n\r\n${chunks}0\r\n\r\n`;
  }
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
