import { MIN, type Req, type Scenario, UA, at, every, fpOf } from './lib.js';

/**
 * token-new-origin: unmanaged tokens (fingerprints the key inventory does not know) roam over
 * their carrier's addresses. Only `bot-a` is managed here; key-new-origin covers it.
 */
export function tokenNewOrigin(): Scenario {
  const from = at('2026-10-19T00:00:00Z');
  const to = at('2026-10-30T00:00:00Z');
  const roam = at('2026-10-27T00:00:00Z');
  // A carrier hands out addresses from 100.100.2.0/24 and 100.100.3.0/24 (alternating).
  const carrier = (t: number, i: number) => (t >= roam && i % 5 === 0 ? `100.100.9.${10 + (i % 200)}` : `100.100.${2 + (i % 2)}.${10 + (i % 200)}`);
  const reqs: Req[] = [
    // phone-x: its carrier's third /24 (same /16) first appears after the 7-day learning period: quiet.
    ...every(from + 2 * MIN, to, 20 * MIN, (t, i) => ({ t, key: 'phone-x', ip: carrier(t, i), ua: UA.ivory, uri: i % 2 ? '/api/v1/notifications' : '/api/v1/timelines/home' })),
    // Attack: phone-y's token used from a VPS with a script → fires on the first (2026-10-29T14:00:00).
    ...every(from + 4 * MIN, to, 20 * MIN, (t, i) => ({ t, key: 'phone-y', ip: `100.100.${4 + (i % 2)}.${20 + (i % 100)}`, ua: UA.tusky, uri: '/api/v1/timelines/home' })),
    ...every(at('2026-10-29T14:00:00Z'), at('2026-10-29T14:05:00Z'), MIN, (t, i) => ({ t, key: 'phone-y', ip: '198.51.100.23', ua: UA.python, uri: `/api/v1/accounts/${100 + i}/statuses` })),
    // A managed key's new origin is key-new-origin's (high), not this rule's.
    ...every(from + 3 * MIN, to, 10 * MIN, (t) => ({ t, key: 'bot-a', ip: t < at('2026-10-29T15:00:00Z') ? '203.0.113.10' : '198.51.100.99', ua: t < at('2026-10-29T15:00:00Z') ? UA.bot : UA.curl, uri: '/api/v1/timelines/home' })),
    // A client upgrade keeps the family: quiet.
    ...every(from + 6 * MIN, to, 30 * MIN, (t) => ({ t, key: 'web-z', ip: '100.70.5.30', ua: t < at('2026-10-28T00:00:00Z') ? UA.tusky : UA.tuskyNew, uri: '/api/v1/timelines/home' })),
  ];
  return { keys: [{ id: 'bot-a', fingerprint: fpOf('bot-a'), status: 'active' }], reqs };
}
