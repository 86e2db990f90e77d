/**
 * One prom-client registry per process. Gauges that describe the outside world
 * (queue depth, pool state) are read when Prometheus scrapes, never on a timer.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  jobsProcessed: Counter<'queue' | 'outcome'>;
  jobDuration: Histogram<'queue'>;
  jobWait: Histogram<'queue'>;
  locationsAccepted: Counter;
  locationsStored: Counter;
  locationBatchSize: Histogram;
  temperatureReadingsStored: Counter;
  outboxPublished: Counter<'queue'>;
  webhookAttempts: Counter<'outcome'>;
  webhookAttemptDuration: Histogram;
  webhookEndpointsDisabled: Counter<'reason'>;
}

export function createMetrics(role: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    // Names and labels match the seed's Grafana panels; `route` is the template, never a raw URL.
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5],
      registers,
    }),
    jobsProcessed: new Counter({
      name: 'uvis_jobs_processed_total',
      help: 'Jobs processed by queue and outcome (completed, failed, retrying)',
      labelNames: ['queue', 'outcome'],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'uvis_job_duration_seconds',
      help: 'Time a worker spent processing a job',
      labelNames: ['queue'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    jobWait: new Histogram({
      name: 'uvis_job_wait_seconds',
      help: 'Time from enqueue to the start of processing',
      labelNames: ['queue'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    locationsAccepted: new Counter({
      name: 'uvis_locations_accepted_total',
      help: 'GPS points accepted by the API (202) and queued',
      registers,
    }),
    locationsStored: new Counter({
      name: 'uvis_locations_stored_total',
      help: 'GPS points committed to PostgreSQL by workers (duplicates not counted)',
      registers,
    }),
    temperatureReadingsStored: new Counter({
      name: 'uvis_temperature_readings_total',
      help: 'Reefer temperature readings committed to PostgreSQL by workers (duplicates not counted)',
      registers,
    }),
    locationBatchSize: new Histogram({
      name: 'uvis_location_batch_points',
      help: 'Points per batch written by the location writer',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    outboxPublished: new Counter({
      name: 'uvis_outbox_published_total',
      help: 'Outbox rows relayed to their queue',
      labelNames: ['queue'],
      registers,
    }),
    webhookAttempts: new Counter({
      name: 'uvis_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retrying, failed (no attempts left), gone (410), refused (address not allowed)',
      labelNames: ['outcome'],
      registers,
    }),
    webhookAttemptDuration: new Histogram({
      name: 'uvis_webhook_attempt_duration_seconds',
      help: 'Duration of webhook delivery attempts, answered or not',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers,
    }),
    webhookEndpointsDisabled: new Counter({
      name: 'uvis_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled by UVIS: gone (answered 410) or failing (5 days of failed attempts)',
      labelNames: ['reason'],
      registers,
    }),
  };
}

/** A gauge whose value is computed at scrape time; a failing source leaves it empty rather than failing the scrape. */
export function scrapeGauge<L extends string>(
  registry: Registry,
  options: { name: string; help: string; labelNames?: L[] },
  read: (gauge: Gauge<L>) => Promise<void>,
): Gauge<L> {
  return new Gauge<L>({
    ...options,
    labelNames: options.labelNames ?? [],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        await read(this);
      } catch {
        // A down dependency shows up as missing series (and the readiness probe), not as a broken /metrics.
      }
    },
  });
}
