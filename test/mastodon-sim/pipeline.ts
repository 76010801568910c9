import type { IncomingHttpHeaders } from 'node:http';
import { runController, isApiBase } from './handlers.js';
import { json, str, type SimContext, type SimRequest, type SimResponse } from './http.js';
import { cidrContains, normaliseAddress, parseCidr, type Cidr } from './ip.js';
import { controllerClass, formatRef, logrageMessage, railsLine, requestIdFor, type RequestLog } from './lograge.js';
import { blocklistedResponse, rateLimitHeaders, throttledResponse, RackAttack, type ThrottleData } from './rack-attack.js';
import type { SimOptions, ThrottleName } from './options.js';
import { routeRequest } from './routes.js';
import type { SimState } from './state.js';

type ThrottleMap = Map<ThrottleName, ThrottleData>;

/**
 * One request through the simulated stack, in Mastodon's middleware order: RequestId →
 * Rails logger tags → Rack::Attack (blocklist, throttles) → router → controller filters →
 * action; one lograge line per controller request, a "Rate limit hit" line otherwise.
 */

export interface RawRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  socketIp: string;
}

export interface PipelineResult {
  response: SimResponse;
  requestId: string;
}

/** Rails RemoteIp: believe X-Forwarded-For only from a trusted peer; the last untrusted hop wins. */
export function remoteIp(socketIp: string, xff: string | string[] | undefined, trusted: readonly Cidr[]): string {
  const peer = normaliseAddress(socketIp);
  const isTrusted = (ip: string): boolean => trusted.some((c) => cidrContains(c, ip));
  if (!isTrusted(peer)) return peer;
  const hops = (Array.isArray(xff) ? xff.join(',') : xff ?? '')
    .split(',').map((s) => normaliseAddress(s.trim())).filter((s) => parseCidr(s) !== null);
  for (let i = hops.length - 1; i >= 0; i -= 1) if (!isTrusted(hops[i] as string)) return hops[i] as string;
  return hops[0] ?? peer;
}

/** Doorkeeper access_token_methods: Bearer header, then `access_token`, then `bearer_token`. */
function tokenOf(headers: IncomingHttpHeaders, params: Record<string, unknown>): string | null {
  const auth = headers.authorization;
  if (auth && /^Bearer /i.test(auth)) return auth.replace(/^Bearer /i, '');
  return str(params.access_token) ?? str(params.bearer_token) ?? null;
}

function queryParams(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) {
    if (k.endsWith('[]')) {
      const list = (out[k.slice(0, -2)] as string[] | undefined) ?? [];
      list.push(v);
      out[k.slice(0, -2)] = list;
    } else out[k] = v;
  }
  return out;
}

export class Pipeline {
  private readonly rack: RackAttack;
  private readonly trusted: Cidr[];

  constructor(
    private readonly state: SimState,
    private readonly options: SimOptions,
    private readonly log: RequestLog,
  ) {
    this.rack = new RackAttack(options, (ip) => state.isIpBlocked(ip));
    this.trusted = options.trustedProxies.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null);
  }

  private buildRequest(raw: RawRequest, requestId: string): SimRequest {
    const url = new URL(raw.url, 'http://sim.invalid');
    const body = raw.body !== null && typeof raw.body === 'object' && !Array.isArray(raw.body) ? raw.body : {};
    return {
      method: raw.method.toUpperCase(),
      path: url.pathname,
      fullpath: `${url.pathname}${url.search}`,
      headers: raw.headers,
      params: { ...queryParams(url), ...(body as Record<string, unknown>) },
      ip: remoteIp(raw.socketIp, raw.headers['x-forwarded-for'], this.trusted),
      requestId,
      routeParams: {},
    };
  }

  private logLine(req: SimRequest, message: string): void {
    this.log.write(railsLine(this.options.clock.now(), this.options.pid, req.requestId, message));
  }

  /** Route, run the controller, add Api::RateLimitHeaders; unknown routes are Rails' 404. */
  private async control(ctx: SimContext, data: ThrottleMap): Promise<{ response: SimResponse; controller: string; action: string }> {
    const routed = routeRequest(ctx.req.method, ctx.req.path);
    if (!routed) return { response: json(404, { error: 'Record not found' }), controller: 'ApplicationController', action: 'raise_not_found' };
    ctx.req.routeParams = routed.params;
    const api = isApiBase(routed.entry);
    if (api && ctx.token) this.state.touchToken(ctx.token, ctx.req.ip);
    const response = await runController(ctx, routed.entry);
    if (api) response.headers = { ...rateLimitHeaders(data, this.options.clock.now()), ...response.headers };
    return { response, controller: controllerClass(routed.entry.controller ?? 'application'), action: routed.entry.action ?? 'index' };
  }

  async handle(raw: RawRequest): Promise<PipelineResult> {
    const requestId = requestIdFor(raw.headers['x-request-id']);
    const req = this.buildRequest(raw, requestId);
    if (req.path === '/health') return { response: { status: 200, text: 'OK', contentType: 'text/plain' }, requestId };
    const tokenString = tokenOf(req.headers, req.params);
    const token = this.state.findToken(tokenString) ?? null;
    const user = token?.userId == null ? null : (this.state.users.get(token.userId) ?? null);
    const verdict = this.rack.check(req, { token, ip: req.ip });
    if (verdict.kind !== 'pass') {
      this.logLine(req, `Rate limit hit (${verdict.kind}): ${req.ip} ${req.method} ${req.fullpath}`);
      const response = verdict.kind === 'blocklist' ? blocklistedResponse() : throttledResponse(verdict.match, this.options.clock.now());
      return { response, requestId };
    }
    const started = performance.now();
    const ctx: SimContext = { req, state: this.state, options: this.options, tokenString, token, user };
    const { response, controller, action } = await this.control(ctx, verdict.data);
    this.logLine(req, logrageMessage({
      method: req.method, path: req.path, format: formatRef(req.headers.accept), controller, action,
      status: response.status, durationMs: performance.now() - started, location: response.headers?.location,
    }));
    return { response, requestId };
  }
}
