import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { redactSecrets } from '../core/redact.js';
import { redactApprovalUrl } from '../respond/approval-store.js';
import { type HttpPushOptions, httpPushRoutes } from '../ingest/sources/http-push/index.js';
import errors from './plugins/errors.js';
import { type HealthReport, healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

/**
 * The HTTP API as a fastify plugin: GET /healthz, GET /metrics and the http-push routes of the
 * configured sources. Tests mount it and call `app.inject()`; server.ts only listens.
 */
export interface AppOptions {
  metrics: Metrics;
  health: () => Promise<HealthReport>;
  /** One entry per http-push source (its own path, token and body limit). */
  pushSources: readonly HttpPushOptions[];
  /**
   * More route plugins mounted after the core routes (e.g. routes/oauth-callback.ts once the
   * composition root wires key rotation), each in its own encapsulated context.
   */
  routes?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
}

export const app: FastifyPluginAsync<AppOptions> = async (instance, opts) => {
  await instance.register(errors);
  await instance.register(healthRoutes, { health: opts.health });
  await instance.register(metricsRoutes, { metrics: opts.metrics });
  for (const push of opts.pushSources) await instance.register(httpPushRoutes, push);
  for (const mount of opts.routes ?? []) await instance.register(async (scope) => mount(scope));
};

/**
 * A fastify instance with the app mounted. Request logs go through the tuskguard logger with
 * the query's `access_token` and approval-link tokens redacted; the Authorization header is never logged.
 */
export async function buildApp(opts: AppOptions, logger?: Logger, extra: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const instance = Fastify({
    ...(logger
      ? {
          loggerInstance: logger.child(
            { component: 'api' },
            { serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: redactApprovalUrl(redactSecrets(req.url)) }) } },
          ),
        }
      : { logger: false }),
    disableRequestLogging: false,
    ...extra,
  });
  await instance.register(app, opts);
  await instance.ready();
  return instance;
}
