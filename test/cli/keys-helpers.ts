import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { Event } from '../../src/core/event.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { createStore } from '../../src/store/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';

/**
 * A sandbox for the keys/vault/scan CLI tests: its own home, pepper and master key, and a
 * transcript of every byte the CLI printed, so a test can prove no secret ever appeared.
 */
export class KeysSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'tg-cli-keys-'));
  readonly home = join(this.dir, 'home');
  readonly pepper = `pepper-${randomBytes(16).toString('hex')}`;
  masterKey = randomBytes(32).toString('hex');
  /** Secrets handed to the CLI; none may appear in `transcript`. */
  readonly secrets: string[] = [];
  readonly transcript: string[] = [];

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      TUSKGUARD_HOME: this.home,
      TUSKGUARD_PEPPER: this.pepper,
      TUSKGUARD_MASTER_KEY: this.masterKey,
      // pino at its most verbose, on stderr: every log line is in the transcript.
      TUSKGUARD_LOG_LEVEL: 'trace',
      ...extra,
    };
  }

  /** Config naming the sandbox home, passed to every command (runCli runs from the repo root). */
  readonly config = join(this.dir, 'tuskguard.yaml');

  constructor() {
    writeFileSync(this.config, `home: ${JSON.stringify(this.home)}\n`);
  }

  async run(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    const result = await runCli([...args, '--config', this.config], { env: this.env(options.env), ...(options.input === undefined ? {} : { input: options.input }) });
    this.transcript.push(result.stdout, result.stderr);
    return result;
  }

  /** A new secret of the given shape, remembered for the leak check. */
  secret(kind: 'token' | 'hex' = 'token'): string {
    const value = kind === 'token' ? randomBytes(32).toString('base64url') : randomBytes(20).toString('hex');
    this.secrets.push(value);
    return value;
  }

  item(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id,
      instance: 'https://social.example',
      token: this.secret(),
      client_id: randomBytes(20).toString('hex'),
      client_secret: this.secret('hex'),
      kind: 'app',
      scopes: ['read', 'write'],
      owner: 'team-a',
      purpose: 'test bot',
      ...over,
    };
  }

  writeInventory(name: string, keys: unknown[]): string {
    const file = join(this.dir, name);
    writeFileSync(file, JSON.stringify({ keys }, null, 2));
    return file;
  }

  /** Secrets found in anything the CLI printed (expected: none). */
  leaks(): string[] {
    const all = this.transcript.join('\n');
    return this.secrets.filter((s) => all.includes(s));
  }

  /** Write events to the sandbox's embedded store, as ingest would. */
  async writeEvents(events: Event[]): Promise<void> {
    const store = await createStore({ config: validateConfig({ home: this.home }), home: this.home, file: this.config }, { metrics: new Metrics(), logger: silentLogger });
    try {
      await store.writeEvents(events);
    } finally {
      await store.close();
    }
  }
}

export function usageEvent(n: number, fingerprint: string, route: string, scopes: string[], at: string): Event {
  const [method, path] = route.split(' ');
  return {
    '@timestamp': at,
    'event.id': `test-${fingerprint.slice(0, 8)}-${route}-${n}`,
    'event.dataset': 'nginx-json',
    'http.request.method': method!,
    'url.path': path!,
    'tuskguard.fingerprint': fingerprint,
    'mastodon.route': route,
    'mastodon.required_scopes': scopes,
  };
}
