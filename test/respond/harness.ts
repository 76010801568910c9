import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Clock } from '../../src/core/clock.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { ACTIONS } from '../../src/respond/actions/registry.js';
import { validatePolicies } from '../../src/respond/policies.js';
import { createResponder, type Responder, type ResponderOptions } from '../../src/respond/responder.js';
import { keyLookup } from './fixtures.js';

export const AUDIT_KEY = 'test-audit-key-please-do-not-use-0000';
export const APPROVAL_SECRET = 'test-approval-secret-0123456789abcdef0123';

export interface Harness {
  home: string;
  responder: Responder;
  close(): Promise<void>;
}

/** A responder over a temporary home, with fast retries, for one test. */
export function harness(
  policyFile: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  extra: Partial<ResponderOptions> & { clock?: Clock } = {},
): Harness {
  const home = mkdtempSync(join(tmpdir(), 'tg-respond-'));
  const responder = createResponder({
    home,
    policies: validatePolicies({ version: 1, ...policyFile }, extra.modules ?? ACTIONS, 'test-policies.yaml'),
    keyInfo: keyLookup,
    env: { TUSKGUARD_AUDIT_KEY: AUDIT_KEY, TUSKGUARD_PUBLIC_URL: 'https://tuskguard.example.org', ...env },
    worker: { pollMs: 10, backoff: { baseMs: 20, maxMs: 100 } },
    ...extra,
  });
  return {
    home,
    responder,
    async close() {
      await responder.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Real time shifted by `offset`, so timers and stored times agree and tests can jump ahead. */
export class ShiftClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** A logger whose lines are kept, to assert that no secret was logged. */
export function capturedLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => lines.join('') };
}
