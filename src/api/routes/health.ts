import type { FastifyPluginAsync } from 'fastify';

/** What GET /healthz reports; `ok` is false when the store is unreachable or a source is down. */
export interface HealthReport {
  ok: boolean;
  store: { kind: string; reachable: boolean; error?: string };
  sources: Array<{ id: string; type: string; running: boolean }>;
  /** Lines accepted by the pipeline and not yet stored or dead-lettered. */
  in_flight_lines: number;
}

export interface HealthOptions {
  health: () => Promise<HealthReport>;
}

const schema = {
  summary: 'Liveness and readiness: store reachable, sources running',
  response: {
    '2xx': { $ref: 'health#' },
    503: { $ref: 'health#' },
  },
};

const healthSchema = {
  $id: 'health',
  type: 'object',
  required: ['ok', 'store', 'sources', 'in_flight_lines'],
  properties: {
    ok: { type: 'boolean' },
    store: {
      type: 'object',
      required: ['kind', 'reachable'],
      properties: { kind: { type: 'string' }, reachable: { type: 'boolean' }, error: { type: 'string' } },
    },
    sources: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'type', 'running'],
        properties: { id: { type: 'string' }, type: { type: 'string' }, running: { type: 'boolean' } },
      },
    },
    in_flight_lines: { type: 'integer' },
  },
} as const;

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, opts) => {
  app.addSchema(healthSchema);
  app.get('/healthz', { schema }, async (_req, reply) => {
    const report = await opts.health();
    return reply.status(report.ok ? 200 : 503).send(report);
  });
};
