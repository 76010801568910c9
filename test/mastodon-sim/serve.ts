import { parseArgs } from 'node:util';
import { startMastodonSim } from './index.js';

/**
 * Run the simulator as its own process (for nginx end-to-end tests and for trying the contract
 * suite's "live" path): `npx tsx test/mastodon-sim/serve.ts [--port N] [--host H] [--log FILE]
 * [--trusted-proxy CIDR]...`. Seeds an Owner `admin`, an app and an expendable account, prints
 * one JSON line `{url, clientId, clientSecret, adminToken, testAccountId}` on stdout (TEST
 * CREDENTIALS of a throwaway simulator, nothing real), and runs until SIGINT/SIGTERM.
 */

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    log: { type: 'string' },
    'trusted-proxy': { type: 'string', multiple: true, default: [] },
  },
});

const sim = await startMastodonSim({
  port: Number(values.port), host: values.host, log: values.log ?? null, trustedProxies: values['trusted-proxy'],
});
const app = sim.createApp({ name: 'seed', redirectUris: ['urn:ietf:wg:oauth:2.0:oob'], scopes: 'read write profile admin:read admin:write' });
const admin = sim.createUser({ username: 'admin', role: 'Owner' });
const victim = sim.createUser({ username: 'expendable' });
const adminToken = sim.issueUserToken(app, admin, ['admin:read', 'admin:write']).token;
process.stdout.write(`${JSON.stringify({ url: sim.url, clientId: app.uid, clientSecret: app.secret, adminToken, testAccountId: victim.accountId })}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
