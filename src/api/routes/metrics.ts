import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../core/metrics.js';

export interface MetricsOptions {
  metrics: Metrics;
}

/** GET /metrics: the process's counters in the Prometheus text format. */
export const metricsRoutes: FastifyPluginAsync<MetricsOptions> = async (app, opts) => {
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', response: { 200: { type: 'string' } } } },
    async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()),
  );
};
