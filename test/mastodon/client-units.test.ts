import { MastoHttpError, MastoTimeoutError, MastoUnexpectedError } from 'masto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { TuskguardError } from '../../src/core/errors.js';
import { requiredScopesFrom, resetFrom, scrub, toTuskguardError } from '../../src/mastodon/errors.js';
import { budgetKey, TokenBudget } from '../../src/mastodon/rate-limit.js';
import { sanitizeErrorValue } from '../mastodon-sim/http.js';
import { parseCidr, formatCidr, throttleableIp } from '../mastodon-sim/ip.js';

const CTX = { op: 'test', instance: 'https://m.example' };

function httpError(status: number, body: Record<string, string>, headers: Record<string, string> = {}): MastoHttpError {
  return new MastoHttpError(
    { statusCode: status, message: body.error ?? '', description: body.error_description, additionalProperties: {} },
    { cause: new Response(null, { status, headers }) },
  );
}

describe('toTuskguardError', () => {
  it.each([
    [httpError(401, { error: 'The access token was revoked' }), 'MASTODON_UNAUTHORIZED', false],
    [httpError(403, { error: 'This action is outside the authorized scopes' }, { 'www-authenticate': 'Bearer realm="Doorkeeper", error="insufficient_scope", error_description="Access to this resource requires scope _read read:statuses_."' }), 'MASTODON_FORBIDDEN', false],
    [httpError(429, { error: 'Too many requests' }, { 'x-ratelimit-reset': '2026-08-21T09:15:00.123456Z' }), 'MASTODON_RATE_LIMITED', true],
    [httpError(503, { error: 'Service Unavailable' }), 'MASTODON_ERROR', true],
    [httpError(422, { error: 'Validation failed: x' }), 'MASTODON_ERROR', false],
    [new MastoTimeoutError('Request timed out'), 'MASTODON_UNREACHABLE', true],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'MASTODON_UNREACHABLE', true],
    [new MastoUnexpectedError('The server returned data with an unknown encoding.'), 'MASTODON_UNEXPECTED_RESPONSE', true],
    [new TypeError("Cannot destructure property 'error' of 'data' as it is undefined."), 'MASTODON_UNEXPECTED_RESPONSE', true],
  ] as const)('%o → %s', (err, code, retryable) => {
    const e = toTuskguardError(err, CTX, []);
    expect(e).toBeInstanceOf(TuskguardError);
    expect([e.code, e.details?.retryable]).toEqual([code, retryable]);
  });

  it('reads the required scopes and the reset time from the response headers', () => {
    const forbidden = toTuskguardError(httpError(403, { error: 'This action is outside the authorized scopes' }, { 'www-authenticate': 'Bearer realm="Doorkeeper", error="insufficient_scope", error_description="Access to this resource requires scope _read read:statuses_."' }), CTX, []);
    expect(forbidden.details?.requiredScopes).toEqual(['read', 'read:statuses']);
    const limited = toTuskguardError(httpError(429, { error: 'Too many requests' }, { 'x-ratelimit-reset': '2026-08-21T09:15:00.123456Z' }), CTX, []);
    expect(limited.details?.retryAt).toBe('2026-08-21T09:15:00.123Z');
  });
});

describe('regexes on 10 kB hostile input', () => {
  const hostile = `requires scope _${'_'.repeat(5000)}${'a '.repeat(2500)}`;
  it('requiredScopesFrom, resetFrom, scrub and sanitizeErrorValue stay linear and sane', () => {
    const t = performance.now();
    expect(requiredScopesFrom(hostile)).toBeUndefined();
    expect(resetFrom(new Headers({ 'x-ratelimit-reset': 'x'.repeat(10_000) }))).toBeUndefined();
    expect(scrub('a'.repeat(10_000), ['a'.repeat(43)])).toContain('[REDACTED]');
    expect(sanitizeErrorValue('"\\'.repeat(5000))).toBe('_'.repeat(10_000));
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('TokenBudget', () => {
  it('stays under limit − margin per window and resets with the next window', () => {
    const clock = new ManualClock(0);
    const budget = new TokenBudget({ limit: 5, margin: 2, periodMs: 60_000 }, clock);
    const key = budgetKey('https://m.example', 'tok');
    for (let i = 0; i < 3; i += 1) budget.take(key, CTX);
    expect(() => budget.take(key, CTX)).toThrow(expect.objectContaining({ code: 'MASTODON_RATE_LIMITED' }));
    clock.set(60_000);
    expect(() => budget.take(key, CTX)).not.toThrow();
  });

  it('obeys the server: a 429 or a low remaining count blocks until X-RateLimit-Reset', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const budget = new TokenBudget({}, clock);
    const key = budgetKey('i', 't');
    const reset = new Date(clock.now() + 42_000).toISOString();
    budget.observe(key, new Headers({ 'x-ratelimit-remaining': '250', 'x-ratelimit-reset': reset }));
    expect(budget.nextAllowed(key).getTime()).toBe(clock.now());
    budget.observe(key, new Headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': reset }));
    expect(budget.nextAllowed(key).toISOString()).toBe(reset);
    clock.advance(42_000);
    expect(() => budget.take(key, CTX)).not.toThrow();
  });

  it('keys do not contain the token', () => {
    expect(budgetKey('https://m.example', 'SECRET-TOKEN-VALUE')).not.toContain('SECRET');
  });
});

describe('simulator IP helpers', () => {
  it.each([
    ['203.0.113.77/24', '203.0.113.0/24'],
    ['192.0.2.1', '192.0.2.1/32'],
    ['2001:db8::1/64', '2001:db8::/64'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['::ffff:198.51.100.4', '198.51.100.4/32'],
  ])('%s → %s', (input, out) => {
    expect(formatCidr(parseCidr(input)!)).toBe(out);
  });

  it('groups IPv6 clients by /64 and rejects junk', () => {
    expect(throttleableIp('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::');
    expect(parseCidr('10.0.0.1/33')).toBeNull();
    expect(parseCidr('not an ip')).toBeNull();
  });
});
