import { type KeyWriter, accountId, perHour, scheduled, searchUri, statusId } from './kit.js';
import { DAY, HOUR, MIN, SEC, isWeekend, localDays, localHour } from './model.js';
import { intBetween } from './random.js';

/**
 * Benign traffic of automation keys: they run from one server (a /24 in a hosting AS), with one
 * user agent, on schedules — some around the clock, some in the hours their owners chose.
 */

/** A restart (deploy) once a day at 04:xx local checks the token. */
function dailyVerify(w: KeyWriter, from: number, to: number): void {
  for (const d of localDays(from, to, w.k.tz)) {
    const t = d + 4 * HOUR + intBetween(w.r, 0, 59) * MIN;
    if (t >= from && t < to) w.req(t, 'GET', '/api/v1/accounts/verify_credentials');
  }
}

/** Posts every `every` minutes within its active hours, some with an image; polls notifications. */
export function posterBot(w: KeyWriter, from: number, to: number): void {
  const { every, from: h0, to: h1, media } = w.k.p as { every: number; from: number; to: number; media: number };
  const phase = intBetween(w.r, 0, every - 1) * MIN;
  scheduled(w, from, to, every * MIN, phase, 20 * SEC, (t) => {
    const h = localHour(t, w.k.tz);
    if (h < h0 || h >= h1) return;
    if (w.r() < media) w.req(t - 2 * SEC, 'POST', '/api/v2/media');
    w.req(t, 'POST', '/api/v1/statuses');
  });
  scheduled(w, from, to, 5 * MIN, intBetween(w.r, 0, 299) * SEC, 5 * SEC, (t) => w.req(t, 'GET', '/api/v1/notifications?limit=30'));
  dailyVerify(w, from, to);
}

/** Polls the home timeline and notifications, pulls the accounts it archives every hour. */
export function readerBot(w: KeyWriter, from: number, to: number): void {
  const { poll, accounts } = w.k.p as { poll: number; accounts: number };
  scheduled(w, from, to, poll * SEC, intBetween(w.r, 0, poll - 1) * SEC, 5 * SEC, (t) => w.req(t, 'GET', '/api/v1/timelines/home?limit=40'));
  scheduled(w, from, to, 10 * MIN, intBetween(w.r, 0, 599) * SEC, 5 * SEC, (t) => w.req(t, 'GET', '/api/v1/notifications'));
  const minute = intBetween(w.r, 0, 50) * MIN;
  scheduled(w, from, to, HOUR, minute, 30 * SEC, (t) => {
    for (let i = 0; i < accounts; i++) w.req(t + i * 2 * SEC, 'GET', `/api/v1/accounts/${100 + i}/statuses?limit=40`);
  });
  perHour(w, from, to, () => 4 / 24, (t) => w.req(t, 'GET', searchUri(w.r)));
  dailyVerify(w, from, to);
}

/** Once a night at its hour: checks the token, then pages through account statuses. */
export function nightBatch(w: KeyWriter, from: number, to: number): void {
  const { hour, reads } = w.k.p as { hour: number; reads: number };
  for (const d of localDays(from, to, w.k.tz)) {
    const start = d + hour * HOUR + intBetween(w.r, 0, 60) * SEC;
    if (start < from || start >= to) continue;
    w.req(start, 'GET', '/api/v1/accounts/verify_credentials');
    const n = Math.round(reads * w.rate(start) * (0.9 + 0.2 * w.r()));
    let t = start + 2 * SEC;
    for (let i = 0; i < n; i++, t += intBetween(w.r, 4, 6) * SEC) w.req(t, 'GET', `/api/v1/accounts/${accountId(w.r, 400)}/statuses?limit=40&max_id=${statusId(w.r)}`);
  }
}

/** Holds a streaming connection (logged when it ends) and replies to mentions. */
export function streamBot(w: KeyWriter, from: number, to: number): void {
  const { reconnect, replies } = w.k.p as { reconnect: number; replies: number };
  scheduled(w, from, to, reconnect * MIN, intBetween(w.r, 0, reconnect - 1) * MIN, 10 * MIN, (t) =>
    w.req(t, 'GET', '/api/v1/streaming?stream=user&access_token=[REDACTED]', undefined, 101),
  );
  perHour(w, from, to, () => replies / 24, (t) => {
    w.req(t, 'GET', `/api/v1/statuses/${statusId(w.r)}/context`);
    w.req(t + intBetween(w.r, 2, 8) * SEC, 'POST', '/api/v1/statuses');
  });
  dailyVerify(w, from, to);
}

/** A dashboard sync that polls until the key is retired (KeyChanges.stopAt). */
export function retiredIntegration(w: KeyWriter, from: number, to: number): void {
  const { poll } = w.k.p as { poll: number };
  scheduled(w, from, to, poll * SEC, intBetween(w.r, 0, poll - 1) * SEC, 5 * SEC, (t) => w.req(t, 'GET', '/api/v1/timelines/home?limit=20'));
  dailyVerify(w, from, to);
}

/**
 * A moderation dashboard: the report queue refreshes every 5 minutes around the clock; in
 * office hours a moderator opens reported accounts and reports, and acts a few times an hour.
 * Some actions are refused with 403 (the moderator's role lacks that permission): a granted
 * scope, so not scope probing.
 */
export function adminTool(w: KeyWriter, from: number, to: number): void {
  const { accounts, actions, from: h0, to: h1 } = w.k.p as { accounts: number; actions: number; from: number; to: number };
  scheduled(w, from, to, 5 * MIN, intBetween(w.r, 0, 299) * SEC, 10 * SEC, (t) => w.req(t, 'GET', '/api/v1/admin/reports?resolved=false'));
  const working = (t: number) => {
    const h = localHour(t, w.k.tz);
    return h >= h0 && h < h1 ? (isWeekend(t, w.k.tz) ? 0.2 : 1) : 0;
  };
  // Reported accounts change from day to day: ids come from a pool that moves with the date.
  const reported = (t: number) => accountId(w.r, 30, 5_000 + Math.floor(t / DAY) * 7);
  perHour(w, from, to, (h) => accounts * working(h), (t) => w.req(t, 'GET', `/api/v1/admin/accounts/${reported(t)}`));
  perHour(w, from, to, (h) => 2 * working(h), (t) => w.req(t, 'GET', `/api/v1/admin/reports/${intBetween(w.r, 900, 999)}`));
  perHour(w, from, to, (h) => 1 * working(h), (t) => w.req(t, 'POST', `/api/v1/admin/reports/${intBetween(w.r, 900, 999)}/resolve`));
  perHour(w, from, to, (h) => actions * working(h), (t) => {
    const refused = w.r() < 0.05;
    w.req(t, 'POST', `/api/v1/admin/accounts/${reported(t)}/action`, undefined, refused ? 403 : undefined);
  });
}
