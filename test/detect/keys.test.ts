import { describe, expect, it } from 'vitest';
import { parseKeyInventory, statusAt } from '../../src/detect/keys.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('key inventory for detection', () => {
  it('reads the keys list JSON with retired fingerprints and status times', () => {
    const keys = parseKeyInventory(
      JSON.stringify([
        { id: 'bot', fingerprint: A, status: 'active', scopes: ['read'], owner: 'ops', previous_fingerprints: [{ fingerprint: B, retired_at: '2026-10-28T12:00:00Z' }] },
      ]),
    );
    expect(keys.keyIdFor(A)).toBe('bot');
    expect(keys.keyIdFor(B)).toBe('bot');
    expect(keys.keyIdFor('c'.repeat(32))).toBeNull();
    const old = keys.byFingerprint(B)!;
    expect(statusAt(old, Date.parse('2026-10-28T11:59:59Z'))).toBe('active');
    expect(statusAt(old, Date.parse('2026-10-28T12:00:00Z'))).toBe('rotated');
    expect(keys.byFingerprint(A)?.scopes).toEqual(['read']);
  });

  it.each([
    [`{"keys":[{"id":"x","fingerprint":"${A}"}]}`, 1],
    [`{"id":"x","fingerprint":"${A}"}\n{"id":"y","fingerprint":"${B}"}\n`, 2],
    ['', 0],
  ])('accepts %s', (text, n) => {
    expect(parseKeyInventory(text).size).toBe(n);
  });

  it('names the record and field at fault', () => {
    expect(() => parseKeyInventory(JSON.stringify([{ id: 'x', fingerprint: A }, { id: 'y', fingerprint: 'nothex' }]))).toThrow(
      /key record 1: fingerprint: 32 lowercase hex/,
    );
    expect(() => parseKeyInventory(JSON.stringify([{ id: 'x', fingerprint: A, status: 'gone' }]))).toThrow(/key record 0: status/);
  });
});
