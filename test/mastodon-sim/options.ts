import type { Clock } from '../../src/core/clock.js';

/** Rack::Attack throttles the simulator implements (`config/initializers/rack_attack.rb`). */
export const THROTTLE_NAMES = [
  'throttle_authenticated_api',
  'throttle_per_token_api',
  'throttle_unauthenticated_api',
  'throttle_api_media',
  'throttle_api_sign_up',
  'throttle_authenticated_paging',
  'throttle_unauthenticated_paging',
  'throttle_api_delete',
  'throttle_oauth_application_registrations/ip',
] as const;
export type ThrottleName = (typeof THROTTLE_NAMES)[number];

export interface ThrottleLimit {
  readonly limit: number;
  readonly periodSeconds: number;
}

/** FACTS.md §10. */
export const DEFAULT_THROTTLES: Readonly<Record<ThrottleName, ThrottleLimit>> = {
  throttle_authenticated_api: { limit: 1500, periodSeconds: 300 },
  throttle_per_token_api: { limit: 300, periodSeconds: 300 },
  throttle_unauthenticated_api: { limit: 300, periodSeconds: 300 },
  throttle_api_media: { limit: 30, periodSeconds: 1800 },
  throttle_api_sign_up: { limit: 5, periodSeconds: 1800 },
  throttle_authenticated_paging: { limit: 300, periodSeconds: 900 },
  throttle_unauthenticated_paging: { limit: 300, periodSeconds: 900 },
  throttle_api_delete: { limit: 30, periodSeconds: 1800 },
  'throttle_oauth_application_registrations/ip': { limit: 5, periodSeconds: 600 },
};

export type DownMode = 'refuse' | 'bad-gateway' | 'hang';

export interface SimOptions {
  /** Time source for tokens, grants, throttles and IP block expiry; default the system clock. */
  clock: Clock;
  /** Per-throttle overrides, e.g. `{ throttle_per_token_api: { limit: 5, periodSeconds: 60 } }`. */
  throttles: Readonly<Record<ThrottleName, ThrottleLimit>>;
  /**
   * Peers whose X-Forwarded-For is believed (Rails `TRUSTED_PROXY_IP`); addresses or CIDRs.
   * Empty by default: the socket address is the client address.
   */
  trustedProxies: readonly string[];
  /**
   * Real Mastodon safelists 127.0.0.1 and ::1 in Rack::Attack (no throttles, no IP blocks).
   * FACTS.md does not mention it, and tests connect from localhost, so it is off by default.
   */
  safelistLocalhost: boolean;
  /** `DISALLOW_UNAUTHENTICATED_API_ACCESS=true`: anonymous API calls get 401. */
  disallowUnauthenticatedApi: boolean;
  /**
   * A token that is not in the database, sent to a token-optional endpoint. FACTS.md §6 says it
   * must be valid (`reject`: 401); Doorkeeper's code would treat the caller as anonymous.
   */
  unknownTokenOnOptional: 'reject' | 'anonymous';
  /** Where lograge lines go: a file path (appended) or a stream; lines are also kept in memory. */
  log: string | NodeJS.WritableStream | null;
  /** The `#pid` in log lines. */
  pid: number;
  /** What `setDown(true)` does: close the listener, answer 502, or accept and never answer. */
  downMode: DownMode;
  /** Serve the `/__sim/*` test hooks (seed users, authorization codes, vacuum). */
  testHooks: boolean;
  /** Host to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
}

export function resolveOptions(
  input: Partial<Omit<SimOptions, 'throttles'>> & { throttles?: Partial<Record<ThrottleName, ThrottleLimit>> },
  systemClock: Clock,
): SimOptions {
  return {
    clock: input.clock ?? systemClock,
    throttles: { ...DEFAULT_THROTTLES, ...input.throttles },
    trustedProxies: input.trustedProxies ?? [],
    safelistLocalhost: input.safelistLocalhost ?? false,
    disallowUnauthenticatedApi: input.disallowUnauthenticatedApi ?? false,
    unknownTokenOnOptional: input.unknownTokenOnOptional ?? 'reject',
    log: input.log ?? null,
    pid: input.pid ?? process.pid,
    downMode: input.downMode ?? 'refuse',
    testHooks: input.testHooks ?? true,
    host: input.host ?? '127.0.0.1',
    port: input.port ?? 0,
  };
}
