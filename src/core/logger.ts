import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Field names that may carry a secret. pino replaces their values before a line is written,
 * as a second line of defence: code must never pass a raw secret to the logger at all.
 */
export const REDACT_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'pepper',
  'masterKey',
  'master_key',
  'password',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.pepper',
  '*.password',
  '*.authorization',
] as const;

export interface LoggerSettings {
  level?: string;
  /** Where to write; default stderr so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.TUSKGUARD_LOG_LEVEL ?? 'info',
    base: { service: 'tuskguard' },
    redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, (settings.destination ?? process.stderr) as NodeJS.WritableStream & { write(msg: string): void });
}

/** A logger that discards everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
