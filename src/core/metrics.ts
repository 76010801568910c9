import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's metrics, in Prometheus form (served at GET /metrics by `serve`).
 * One instance per pipeline; components receive it rather than importing a global, so tests
 * can assert counters in isolation.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Lines read by sources, by source id and outcome (`parsed`, `rejected`). */
  readonly lines = new Counter({
    name: 'tuskguard_lines_total',
    help: 'Log lines read, by source and outcome',
    labelNames: ['source', 'format', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Errors counted at run time (style rule 5): the component keeps going. */
  readonly errors = new Counter({
    name: 'tuskguard_errors_total',
    help: 'Errors by component and stage',
    labelNames: ['component', 'stage'] as const,
    registers: [this.registry],
  });

  /** Lines or records sent to the dead-letter, by reason code. */
  readonly deadLetters = new Counter({
    name: 'tuskguard_dead_letters_total',
    help: 'Records dead-lettered, by component and reason',
    labelNames: ['component', 'reason'] as const,
    registers: [this.registry],
  });

  readonly eventsWritten = new Counter({
    name: 'tuskguard_events_written_total',
    help: 'Events acknowledged by the store',
    labelNames: ['store', 'kind'] as const,
    registers: [this.registry],
  });

  readonly storeRetries = new Counter({
    name: 'tuskguard_store_retries_total',
    help: 'Store writes retried after 429/5xx or a connection error',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });

  /** Events accepted by the pipeline but not yet acknowledged by the store. */
  readonly inFlight = new Gauge({
    name: 'tuskguard_pipeline_in_flight',
    help: 'Events buffered between parse and store acknowledgement',
    registers: [this.registry],
  });

  readonly joinPending = new Gauge({
    name: 'tuskguard_join_pending',
    help: 'Proxy or Mastodon lines waiting for their partner',
    registers: [this.registry],
  });

  readonly bulkSeconds = new Histogram({
    name: 'tuskguard_store_bulk_seconds',
    help: 'Time to write one batch to the store',
    labelNames: ['store'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tuskguard_' });
  }

  /** Current value of a counter series, for tests and summaries. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    if (!metric) return 0;
    let sum = 0;
    for (const v of metric.values) {
      const l = v.labels as Record<string, string | number>;
      if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) sum += v.value;
    }
    return sum;
  }
}
