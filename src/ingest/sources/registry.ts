import type { FileTailSourceConfig, HttpPushSourceConfig, SourceConfig } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { CheckpointStore } from '../checkpoints.js';
import type { DeadLetter } from '../dead-letter.js';
import type { PipelineInput, Source } from '../types.js';
import { FileTailSource } from './file-tail/index.js';
import { type HttpPushOptions, resolvePushToken } from './http-push/index.js';

/**
 * The source registry: one folder per source under this directory, one line per configurable
 * type here (YAML `type:` = folder name). `replay` has a folder but no line: it is not a
 * long-running source of the service but a one-pass reader the `ingest` and `replay` commands
 * call (replayFiles). test/ingest/sources/registry.test.ts checks folders against this table.
 */
export interface SourceDeps {
  checkpoints: CheckpointStore;
  deadLetter: DeadLetter;
  pipeline: PipelineInput;
  logger: Logger;
  metrics: Metrics;
  env: NodeJS.ProcessEnv;
}

/** A configured source: something to start and stop, plus the routes it mounts on the API. */
export interface BuiltSource {
  source: Source & { readonly running: boolean };
  type: SourceConfig['type'];
  /** http-push: the route the API mounts for it. */
  push?: HttpPushOptions;
}

type Factory<C> = (config: C, deps: SourceDeps) => BuiltSource;

const fileTail: Factory<FileTailSourceConfig> = (config, deps) => ({
  type: 'file-tail',
  source: new FileTailSource(config, deps),
});

/** http-push runs inside the API listener: start/stop only flip its state. */
const httpPush: Factory<HttpPushSourceConfig> = (config, deps) => {
  const token = resolvePushToken(config, deps.env);
  let running = false;
  return {
    type: 'http-push',
    source: {
      id: config.id,
      get running() {
        return running;
      },
      start: async () => void (running = true),
      stop: async () => void (running = false),
    },
    push: { config, pipeline: deps.pipeline, deadLetter: deps.deadLetter, metrics: deps.metrics, token },
  };
};

export const SOURCES = {
  'file-tail': fileTail,
  'http-push': httpPush,
} as const satisfies { [T in SourceConfig['type']]: Factory<Extract<SourceConfig, { type: T }>> };

/** Build one configured source; throws coded errors (e.g. SECRET_MISSING) at start-up. */
export function buildSource(config: SourceConfig, deps: SourceDeps): BuiltSource {
  return config.type === 'file-tail' ? SOURCES['file-tail'](config, deps) : SOURCES['http-push'](config, deps);
}
