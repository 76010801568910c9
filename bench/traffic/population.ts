import { fingerprint } from '../../src/core/fingerprint.js';
import { type KeySpec, type Origin, type Profile, networkOf } from './model.js';
import { type Rng, intBetween, pick, secret, streamOf } from './random.js';

/**
 * The keys of a generated instance: tens of tokens with a purpose each (managed ones go to
 * keys.yaml), stable origins (a /24 and an AS per place a key runs from) and one user agent.
 * Address space: 198.18.0.0/15 (RFC 2544, benchmarking) for servers, 100.64.0.0/10 (shared
 * address space) for offices, homes and carriers; attackers get /24s no benign key uses.
 */
export type PopulationSize = 'full' | 'small';

const COUNTS: Record<PopulationSize, Record<Profile, number>> = {
  full: {
    'poster-bot': 7, 'reader-bot': 7, 'office-app': 4, 'admin-tool': 3, 'phone-app': 6,
    'night-batch': 2, 'stream-bot': 2, 'retired-integration': 1, 'web-session': 6, 'third-party-app': 5,
  },
  small: {
    'poster-bot': 3, 'reader-bot': 4, 'office-app': 1, 'admin-tool': 2, 'phone-app': 2,
    'night-batch': 1, 'stream-bot': 1, 'retired-integration': 1, 'web-session': 1, 'third-party-app': 1,
  },
};

const ID_PREFIX: Record<Profile, string> = {
  'poster-bot': 'poster', 'reader-bot': 'reader', 'office-app': 'office', 'admin-tool': 'mod', 'phone-app': 'phone',
  'night-batch': 'batch', 'stream-bot': 'stream', 'retired-integration': 'legacy', 'web-session': 'web', 'third-party-app': 'app',
};

const TIMEZONES = [0, 1, 1, 2, -5, -4, 9];
const BOT_NAMES = ['rssbot', 'weatherbot', 'quakebot', 'newsbot', 'trainbot', 'haikubot', 'tidebot', 'statusbot'];
const PHONE_UAS = ['Tusky/25.2 Android/14', 'Ivory/2.4 (iOS 18.1)', 'Ice Cubes/1.10 (iOS 17.6)', 'Fedilab/3.28 Android/14', 'Mona/6.1 (iOS 18.0)', 'Moshidon/2.0 Android/13'];
const READER_UAS = ['feedreader/3.1', 'archiver/1.0 (+https://archive.example)', 'Go-http-client/2.0', 'tootfeed/0.4'];
const BROWSER_UAS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
];

/** Hands out /24s per role so that no two places collide by accident. */
export class Networks {
  private readonly next: Record<string, number> = {};

  constructor(private readonly r: Rng) {}

  private take(pool: string, size: number): number {
    const n = this.next[pool] ?? intBetween(this.r, 0, 20);
    this.next[pool] = n + 1;
    return n % size;
  }

  /** A fresh place of `role` and its first host address. */
  place(role: Origin['role']): Origin {
    const host = intBetween(this.r, 10, 240);
    if (role === 'hosting') {
      const n = this.take('hosting', 180) + 1;
      return origin(`198.18.${n}.${host}`, 64600 + (n % 12), `Example Hosting ${n % 12}`, role);
    }
    if (role === 'carrier') {
      const c = this.take('carrier', 3);
      const ip = `100.100.${2 * c + intBetween(this.r, 0, 1)}.${host}`;
      return origin(ip, 64800 + c, `Example Mobile ${c}`, role);
    }
    const base = role === 'office' ? 64 : 70;
    const n = this.take(role, 1_000);
    return origin(`100.${base + Math.floor(n / 250)}.${(n % 250) + 1}.${host}`, (role === 'office' ? 64700 : 64900) + (n % 25), `Example ${role === 'office' ? 'Business' : 'Broadband'} ${n % 25}`, role);
  }

  /** An attacker's /24 (a VPS range or residential proxies), never used by a benign key. */
  hostile(kind: 'vps' | 'proxy'): Origin {
    const n = this.take(`hostile-${kind}`, 250);
    const host = intBetween(this.r, 2, 250);
    return kind === 'vps'
      ? origin(`198.19.${(n % 50) + 200}.${host}`, 65100 + (n % 5), `Example Cloud ${n % 5}`, 'hosting')
      : origin(`100.${120 + Math.floor(n / 200)}.${n % 200}.${host}`, 65200 + (n % 40), `Example Residential ${n % 40}`, 'home');
  }
}

function origin(ip: string, asn: number, asName: string, role: Origin['role']): Origin {
  return { ip, network: networkOf(ip), asn, asName, role };
}

interface Shape {
  kind: KeySpec['kind'];
  scopes: (i: number) => string[];
  ua: (r: Rng, i: number) => string;
  origins: (nets: Networks, r: Rng) => Origin[];
  params: (r: Rng) => Record<string, number>;
  purpose: string;
}

const hosting = (nets: Networks) => [nets.place('hosting')];
const person = (nets: Networks, r: Rng) => [nets.place('home'), nets.place('carrier'), ...(r() < 0.7 ? [nets.place('office')] : [])];

const SHAPES: Record<Profile, Shape> = {
  'poster-bot': {
    kind: 'app', purpose: 'posts on a schedule', origins: hosting,
    scopes: (i) => (i % 3 === 2 ? ['write:statuses', 'write:media', 'read:notifications', 'read:accounts'] : ['read', 'write']),
    ua: (_r, i) => `${BOT_NAMES[i % BOT_NAMES.length]}/1.${4 + (i % 3)} (+https://bots.example/${i})`,
    params: (r) => ({ every: pick(r, [15, 20, 30, 60]), from: pick(r, [0, 0, 6, 7]), to: pick(r, [24, 24, 22, 23]), media: pick(r, [0, 0.2, 0.5]) }),
  },
  'reader-bot': {
    kind: 'app', purpose: 'reads timelines for an archive or feed', origins: hosting,
    // reader-1 may only read; reader-2 holds write but never uses it (least-privilege debt).
    scopes: (i) => (i === 0 ? ['read'] : i === 1 ? ['read', 'write'] : i % 2 ? ['read:statuses', 'read:notifications', 'read:accounts', 'read:search'] : ['read']),
    ua: (_r, i) => READER_UAS[i % READER_UAS.length]!,
    params: (r) => ({ poll: pick(r, [90, 120, 180]), accounts: intBetween(r, 2, 6) }),
  },
  'office-app': {
    kind: 'user', purpose: 'social media desk tool used in office hours', scopes: () => ['read', 'write'],
    ua: (r) => pick(r, ['socialdesk/5.2', BROWSER_UAS[1]!]),
    origins: (nets) => [nets.place('office')],
    params: (r) => ({ rate: intBetween(r, 30, 60), from: pick(r, [8, 9]), to: pick(r, [17, 18]), weekend: pick(r, [0, 1]), posts: intBetween(r, 2, 5) }),
  },
  'admin-tool': {
    kind: 'user', purpose: 'moderation dashboard', scopes: () => ['read', 'admin:read', 'admin:write'],
    ua: (_r, i) => `modtool/2.${i} (+https://mod.example)`,
    origins: (nets) => [nets.place('office')],
    params: (r) => ({ accounts: intBetween(r, 3, 8), actions: pick(r, [0.4, 0.6, 0.8]), from: pick(r, [8, 9]), to: pick(r, [18, 19]) }),
  },
  'phone-app': {
    kind: 'user', purpose: "a staff member's phone app", scopes: () => ['read', 'write', 'follow', 'push'],
    ua: (_r, i) => PHONE_UAS[i % PHONE_UAS.length]!, origins: person,
    params: (r) => ({ sessions: intBetween(r, 3, 5), pace: intBetween(r, 15, 30) }),
  },
  'night-batch': {
    kind: 'app', purpose: 'nightly export', scopes: () => ['read'], origins: hosting,
    ua: () => 'exporter/0.9 (+https://tools.example)', params: (r) => ({ hour: pick(r, [1, 2, 3]), reads: intBetween(r, 150, 250) }),
  },
  'stream-bot': {
    kind: 'app', purpose: 'reply bot on the streaming API', scopes: () => ['read', 'write'], origins: hosting,
    ua: (_r, i) => `replybot/2.${i}`, params: (r) => ({ reconnect: pick(r, [60, 120, 180]), replies: intBetween(r, 10, 30) }),
  },
  'retired-integration': {
    kind: 'app', purpose: 'old dashboard integration, retired this week', scopes: () => ['read'], origins: hosting,
    ua: () => 'dashboard-sync/0.3', params: (r) => ({ poll: pick(r, [300, 600]) }),
  },
  'web-session': {
    kind: 'user', purpose: "an instance user's web session", scopes: () => ['read', 'write', 'follow', 'push'],
    ua: (r) => pick(r, BROWSER_UAS), origins: (nets, r) => [nets.place('home'), ...(r() < 0.5 ? [nets.place('office')] : [])],
    params: (r) => ({ sessions: intBetween(r, 1, 3), pace: intBetween(r, 10, 25) }),
  },
  'third-party-app': {
    kind: 'user', purpose: "an instance user's phone app", scopes: () => ['read', 'write', 'follow', 'push'],
    ua: (r) => pick(r, PHONE_UAS), origins: person,
    params: (r) => ({ sessions: intBetween(r, 2, 4), pace: intBetween(r, 15, 30) }),
  },
};

const UNMANAGED = new Set<Profile>(['web-session', 'third-party-app']);

/** Build the population of a run; fingerprints under `pepper`, as nginx's njs module computes them. */
export function population(seed: number, size: PopulationSize, pepper: string, nets: Networks): KeySpec[] {
  const keys: KeySpec[] = [];
  for (const [profile, count] of Object.entries(COUNTS[size]) as Array<[Profile, number]>) {
    const shape = SHAPES[profile];
    for (let i = 0; i < count; i++) {
      const id = `${ID_PREFIX[profile]}-${i + 1}`;
      const r = streamOf(seed, 'key', id);
      const token = secret(r);
      keys.push({
        id, profile, managed: !UNMANAGED.has(profile), kind: shape.kind, scopes: shape.scopes(i),
        owner: profile === 'web-session' || profile === 'third-party-app' ? `user-${i + 1}` : pick(r, ['comms', 'platform', 'trust-and-safety', 'data']),
        purpose: shape.purpose, token, fp: fingerprint(pepper, token), clientId: secret(r), clientSecret: secret(r),
        tz: pick(r, TIMEZONES), ua: shape.ua(r, i), origins: shape.origins(nets, r), p: shape.params(r), changes: {},
      });
    }
  }
  return keys;
}

/** `Tusky/25.2 Android/14` → `Tusky/26.0 Android/14`: same family, next major version. */
export function upgradedUa(ua: string): string {
  return ua.replace(/\/(\d+)\.(\d+)/, (_m, major: string) => `/${Number(major) + 1}.0`);
}
