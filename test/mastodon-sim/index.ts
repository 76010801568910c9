import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock } from '../../src/core/clock.js';
import { buildSimApp } from './app.js';
import { authorizeForTest, type AuthorizeOutcome, type AuthorizeRequest } from './authorize.js';
import { RequestLog } from './lograge.js';
import type { SimApp, SimToken, SimUser } from './model.js';
import { resolveOptions, type DownMode, type SimOptions, type ThrottleLimit, type ThrottleName } from './options.js';
import { SimState, type CreateAppInput, type CreateUserInput } from './state.js';

/**
 * A Mastodon 4.7 simulator for tests (FACTS.md to the letter), on a real TCP port so masto,
 * undici and nginx talk to it as to the real thing. See README.md in this folder.
 */

export type StartOptions = Partial<Omit<SimOptions, 'throttles'>> & {
  throttles?: Partial<Record<ThrottleName, ThrottleLimit>>;
};

export interface MastodonSim {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly state: SimState;
  readonly options: SimOptions;
  /** Every request-log line written so far (lograge and Rack::Attack lines). */
  readonly logLines: readonly string[];
  /** Make the instance unreachable (`true` uses `options.downMode`) or bring it back. */
  setDown(down: boolean | DownMode): Promise<void>;
  close(): Promise<void>;
  /** TEST ONLY: seed a user (and their account), optionally with a role such as `Owner`. */
  createUser(input: CreateUserInput): SimUser;
  /** TEST ONLY: register an app as `POST /api/v1/apps` would. */
  createApp(input: CreateAppInput): SimApp;
  /** TEST ONLY: the consent screen, approved (or denied) by a seeded user, without a browser. */
  authorize(req: AuthorizeRequest): AuthorizeOutcome;
  /** TEST ONLY: a user token straight from the database (code flow skipped), with token reuse. */
  issueUserToken(app: SimApp, user: SimUser, scopes: readonly string[]): SimToken;
  /** TEST ONLY: the daily vacuum of revoked tokens. */
  vacuum(): number;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startMastodonSim(input: StartOptions = {}): Promise<MastodonSim> {
  const options = resolveOptions(input, systemClock);
  const state = new SimState(options.clock);
  const log = new RequestLog(options.log);
  const app = buildSimApp(state, options, log);
  await app.ready();
  let down: DownMode | null = null;
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (down === 'hang') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (down === 'bad-gateway') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n');
      return;
    }
    app.routing(req, res);
  };
  const server = createServer(onRequest);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server, options.port, options.host);
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;

  const dropConnections = (): void => {
    for (const res of held) res.destroy();
    for (const s of sockets) s.destroy();
  };
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      dropConnections();
    });

  return {
    url, state, options,
    get logLines() {
      return log.lines;
    },
    async setDown(value) {
      const mode = value === true ? options.downMode : value === false ? null : value;
      if (mode === down) return;
      if (down === 'refuse') await listen(server, port, options.host);
      if (down === 'hang') dropConnections();
      down = mode;
      if (mode === 'refuse') await stopListening();
    },
    async close() {
      await stopListening();
      await app.close();
      await log.close();
    },
    createUser: (u) => state.createUser(u),
    createApp: (a) => state.createApp(a),
    authorize: (r) => authorizeForTest(state, r),
    issueUserToken: (a, u, scopes) => state.issueToken(a, u.id, scopes),
    vacuum: () => state.vacuum(),
  };
}

export { SimState, SimValidationError } from './state.js';
export type { CreateAppInput, CreateUserInput } from './state.js';
export type { AuthorizeOutcome, AuthorizeRequest } from './authorize.js';
export type { SimApp, SimToken, SimUser, SimAccount, SimIpBlock, Permission } from './model.js';
export { ROLE_PRESETS, PERMISSIONS } from './model.js';
export { CONFIGURED_SCOPES } from './scopes.js';
export { DEFAULT_THROTTLES, type DownMode, type SimOptions } from './options.js';
