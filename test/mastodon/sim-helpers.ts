import type { MastodonSim, SimApp, SimUser } from '../mastodon-sim/index.js';

/** Raw HTTP against the simulator, so tests see exactly what a client would. */

export interface CallOptions {
  token?: string;
  form?: Record<string, string>;
  json?: unknown;
  basic?: { id: string; secret: string };
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: any;
}

export async function call(sim: MastodonSim | string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const base = typeof sim === 'string' ? sim : sim.url;
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(`${opts.basic.id}:${opts.basic.secret}`).toString('base64')}`;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual', signal: opts.signal });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Register an app over the API (counts toward the 5 / 10 min registration throttle). */
export async function registerApp(sim: MastodonSim, scopes = 'read', redirect = 'urn:ietf:wg:oauth:2.0:oob'): Promise<{ id: string; secret: string }> {
  const r = await call(sim, 'POST', '/api/v1/apps', { json: { client_name: 'test', redirect_uris: redirect, scopes } });
  if (r.status !== 200) throw new Error(`registration failed: ${r.status} ${r.text}`);
  return { id: r.body.client_id, secret: r.body.client_secret };
}

export async function appToken(sim: MastodonSim, client: { id: string; secret: string }, scope?: string): Promise<CallResult> {
  const form: Record<string, string> = { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret };
  if (scope !== undefined) form.scope = scope;
  return call(sim, 'POST', '/oauth/token', { form });
}

/** A user token through the real code flow (consent simulated by the test hook). */
export async function userToken(sim: MastodonSim, app: SimApp, user: SimUser, scope: string): Promise<string> {
  const redirect = app.redirectUris[0] ?? 'urn:ietf:wg:oauth:2.0:oob';
  const outcome = sim.authorize({ clientId: app.uid, username: sim.state.accountOf(user).username, redirectUri: redirect, scope });
  if (outcome.kind === 'error' || outcome.code === null) throw new Error(`authorize failed: ${JSON.stringify(outcome)}`);
  const r = await call(sim, 'POST', '/oauth/token', {
    form: { grant_type: 'authorization_code', code: outcome.code, redirect_uri: redirect, client_id: app.uid, client_secret: app.secret },
  });
  if (r.status !== 200) throw new Error(`code exchange failed: ${r.status} ${r.text}`);
  return r.body.access_token as string;
}

/** A concrete path for a route pattern (`:id` → `1`, optional tail dropped). */
export function concretePath(pattern: string, value = '1'): string {
  return pattern.replace(/\(\/\*[a-z_]+\)$/, '').replace(/:[a-z_]+/g, value);
}

export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
