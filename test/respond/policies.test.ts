import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { ACTIONS } from '../../src/respond/actions/registry.js';
import { globMatch, loadPolicies, policyMatches, scopeCovers, selectPolicies, validatePolicies, type PolicyFile } from '../../src/respond/policies.js';
import { finding, KEYS } from './fixtures.js';

const SHIPPED = fileURLToPath(new URL('../../rules/policies.yaml', import.meta.url));

function file(policies: unknown[], extra: Record<string, unknown> = {}): PolicyFile {
  return validatePolicies({ version: 1, policies, ...extra }, ACTIONS);
}

function errorOf(fn: () => unknown): TuskguardError {
  try {
    fn();
  } catch (e) {
    return e as TuskguardError;
  }
  throw new Error('expected an error');
}

describe('policy file', () => {
  it('the shipped rules/policies.yaml validates and fills safeguard defaults', () => {
    const p = loadPolicies(SHIPPED, ACTIONS);
    expect(p.policies.map((x) => x.id)).toEqual(['revoked-key-use', 'suspend-abusive-owner', 'critical-key-abuse', 'high-key-findings', 'block-stuffing-networks', 'unknown-token-attacks', 'medium-findings']);
    expect(p.safeguards.revocation_budget).toEqual({ max: 3, window: '1h' });
    expect(p.safeguards.protected.scopes).toEqual(['admin:*']);
    expect(p.dry_run).toBe(false);
  });

  it('names the file and the path of an unknown key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-pol-'));
    const path = join(dir, 'policies.yaml');
    writeFileSync(path, 'version: 1\npolicies:\n  - id: a\n    actions: [{ type: notify-slack }]\n    mtach: {}\n');
    const e = errorOf(() => loadPolicies(path, ACTIONS));
    rmSync(dir, { recursive: true });
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/policies\.0.*mtach/);
  });

  it.each([
    ['an unknown action type, listing the available ones', [{ id: 'a', actions: [{ type: 'nuke' }] }], /policies\.0\.actions\.0\.type/],
    ['a bad severity', [{ id: 'a', match: { severity: 'severe' }, actions: [{ type: 'notify-slack' }] }], /policies\.0\.match\.severity/],
    ['a secret-looking field in an action', [{ id: 'a', actions: [{ type: 'notify-slack', webhook_url: 'https://hooks.example/x' }] }], /webhook_url/],
    ['a webhook with both url and url_env', [{ id: 'a', actions: [{ type: 'webhook', name: 'w', url: 'https://x.example/', url_env: 'U', secret_env: 'S' }] }], /exactly one of url and url_env/],
    ['a duplicate policy id', [{ id: 'a', actions: [{ type: 'notify-slack' }] }, { id: 'a', actions: [{ type: 'notify-email' }] }], /policies\.1\.id: duplicate/],
    ['no actions', [{ id: 'a', actions: [] }], /policies\.0\.actions/],
  ])('rejects %s', (_what, policies, message) => {
    const e = errorOf(() => file(policies));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toMatch(message);
    expect(e.hint).toContain('notify-slack, notify-email, webhook');
  });

  it('rejects an allowlist entry without a subject or an expiry', () => {
    expect(errorOf(() => file([], { safeguards: { allowlist: [{ until: '2030-01-01T00:00:00Z', reason: 'x' }] } })).message).toMatch(/at least one of/);
    expect(errorOf(() => file([], { safeguards: { allowlist: [{ key: 'k', reason: 'x' }] } })).message).toMatch(/allowlist\.0\.until/);
  });
});

describe('matching', () => {
  it('globs: * is the only wildcard, the rest is literal', () => {
    expect(globMatch('admin:*', 'admin:write:accounts')).toBe(true);
    expect(globMatch('admin:*', 'read')).toBe(false);
    expect(globMatch('a.c', 'abc')).toBe(false);
    expect(globMatch('token-*', 'token-stuffing')).toBe(true);
    expect(globMatch('x'.repeat(50) + '*', 'y'.repeat(10_000))).toBe(false);
  });

  it('scopes: a parent covers its children', () => {
    expect(scopeCovers('write', 'write:statuses')).toBe(true);
    expect(scopeCovers('write', 'write:*')).toBe(true);
    expect(scopeCovers('admin:read', 'admin:*')).toBe(true);
    expect(scopeCovers('admin:read', 'admin:read:accounts')).toBe(true);
    expect(scopeCovers('read:statuses', 'write:*')).toBe(false);
  });

  it.each([
    ['rule list', { rule: ['write-spam', 'admin-*'] }, true],
    ['rule miss', { rule: 'write-spam' }, false],
    ['severity at least high (critical)', { severity: 'high' }, true],
    ['label pattern', { labels: { tactic: 'TA0040*' } }, true],
    ['label any-of list', { labels: { tactic: ['TA0001*', 'TA0006*'] } }, false],
    ['missing label', { labels: { nope: '*' } }, false],
    ['key scope pattern', { key_scopes: ['admin:*'] }, true],
    ['key label', { key_labels: { team: 'trust' } }, true],
    ['key kind', { key_kind: 'user' }, false],
    ['managed key', { managed_key: true }, true],
  ] as const)('%s', (_name, match, expected) => {
    expect(policyMatches(match as never, finding(), KEYS['moderation-bot']!)).toBe(expected);
  });

  it('key conditions never match a finding without a managed key', () => {
    expect(policyMatches({ key_scopes: ['*'] }, finding({ key: null }), null)).toBe(false);
    expect(policyMatches({ managed_key: false }, finding({ key: null }), null)).toBe(true);
  });

  it('honours order, on_match and enabled', () => {
    const p = file([
      { id: 'off', enabled: false, actions: [{ type: 'notify-slack' }] },
      { id: 'first', match: { severity: 'high' }, on_match: 'continue', actions: [{ type: 'notify-slack' }] },
      { id: 'second', match: { rule: 'admin-*' }, actions: [{ type: 'notify-email' }] },
      { id: 'never', actions: [{ type: 'notify-email' }] },
    ]);
    expect(selectPolicies(p, finding(), KEYS['moderation-bot']!).map((x) => x.id)).toEqual(['first', 'second']);
    expect(selectPolicies(p, finding({ severity: 'low', rule: 'x' }), null).map((x) => x.id)).toEqual(['never']);
  });
});
