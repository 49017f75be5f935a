import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram } from 'prom-client';
import { latestRegisterVersion } from '@pksync/db';
import {
  createServiceRegistry,
  registerQueueMetrics,
  SCRAPE_READ_MS,
  sharedRead,
  sourceUpGauge,
  within,
} from '@pksync/metrics';
import type { ApiContext } from './context.ts';

/**
 * Prometheus metrics of the API: its own request durations, the queue depth read from BullMQ and
 * the latest published register version, both current state read at scrape time. Pipeline
 * figures (fetches, records, runs, reconcile phases) come from the workers that do the work
 * (`@pksync/metrics`), not from the history here. Process metrics are the stock, unprefixed
 * ones with `service="api"`.
 */
export function createMetrics(ctx: ApiContext): {
  install(app: FastifyInstance): void;
  render(): Promise<string>;
  contentType: string;
} {
  const registry = createServiceRegistry('api');
  const http = new Histogram({
    name: 'pksync_api_request_duration_seconds',
    help: 'API request durations by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const up = sourceUpGauge(registry);
  if (ctx.queues) registerQueueMetrics(registry, ctx.queues, up);
  // A database that cannot be read is reported as down instead of failing the whole scrape.
  const version = sharedRead(() => within(SCRAPE_READ_MS, latestRegisterVersion(ctx.db)).catch(() => null));
  up.add('postgres', async () => (await version()) !== null);
  new Gauge({
    name: 'pksync_register_version',
    help: 'Latest published register version (0 before any)',
    registers: [registry],
    async collect() {
      const v = await version();
      this.reset();
      if (v !== null) this.set(v);
    },
  });

  return {
    install(app) {
      app.addHook('onResponse', async (req, reply) => {
        const route = req.routeOptions.url ?? 'unmatched';
        http.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      });
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
