/** The job catalogue owns every fact about a queue: the rest of UVIS reads them from there. */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { OUTBOX_EVENTS } from '../../domain/events.js';
import { closeQueues, createQueues } from '../../jobs/queues.js';
import calculateSlot from 'cluster-key-slot';
import { SHARED_HASH_TAG, keyPrefix } from '../../jobs/define.js';
import { QUEUE_NAMES, catalogue, dispatcherMaySee, isQueueName, queueDefinition, queuePrefix, queueSchedules, workerQueues } from '../../jobs/index.js';
import { TIMELINE_QUEUES } from '../../jobs/timeline-jobs.js';
import { ConfigError, loadConfig } from '../../lib/config.js';

describe('job catalogue', () => {
  it('lists every queue once, each under its own name, with a description in Korean and English', () => {
    expect(QUEUE_NAMES).toEqual(['orders', 'dispatches', 'locations', 'telemetry', 'webhooks', 'backups', 'maintenance']);
    for (const [key, definition] of Object.entries(catalogue)) {
      expect(definition.name).toBe(key);
      expect(definition.description).toMatch(/[가-힣].* · [A-Za-z]/);
    }
  });

  it('serves every queue when WORKER_QUEUES is unset, and the listed ones when set', () => {
    expect(workerQueues(undefined)).toEqual(QUEUE_NAMES);
    expect(workerQueues(['locations'])).toEqual(['locations']);
  });

  it('refuses unknown WORKER_QUEUES with a configuration error naming them and the known ones', () => {
    expect(() => workerQueues(['orders', 'emails'])).toThrow(ConfigError);
    expect(() => workerQueues(['orders', 'emails'])).toThrow(/WORKER_QUEUES: unknown queue\(s\) emails; known: orders, dispatches/);
  });

  it('gives every queue a hash tag of its own, so each queue has a Redis Cluster slot of its own', () => {
    for (const name of QUEUE_NAMES) expect(queueDefinition(name).hashTag).toBe(name);
    expect(queuePrefix('uvis', 'orders')).toBe('{uvis:orders}');
    expect(queuePrefix('uvis', 'telemetry')).toBe('{uvis:telemetry}');
    const slots = QUEUE_NAMES.map((name) => calculateSlot(`${queuePrefix('uvis', name)}:${name}:id`));
    expect(new Set(slots).size).toBe(QUEUE_NAMES.length);
    // The layout before per-queue tags, which jobs/legacy-queues.ts still reads.
    expect(keyPrefix('uvis', SHARED_HASH_TAG)).toBe('{uvis}');
  });

  it('creates every queue with the key prefix its catalogue entry gives', async () => {
    const redis = new Redis({ lazyConnect: true });
    const queues = createQueues(redis, 'uvis');
    try {
      expect(Object.keys(queues)).toEqual(QUEUE_NAMES);
      for (const name of QUEUE_NAMES) {
        expect(queues[name].opts.prefix).toBe(queuePrefix('uvis', name));
        expect(queues[name].opts.defaultJobOptions).toEqual(queueDefinition(name).defaultJobOptions);
      }
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });

  it('keeps backups and maintenance jobs from dispatchers and shows them the rest', () => {
    expect(QUEUE_NAMES.filter(dispatcherMaySee)).toEqual(['orders', 'dispatches', 'locations', 'telemetry']);
    expect(dispatcherMaySee('no-such-queue')).toBe(false);
  });

  it("takes the schedules from the queues served, with each queue's cron settings", () => {
    const config = loadConfig({ BACKUP_DAILY_CRON: '0 3 * * *', MAINTENANCE_CRON: '30 4 * * *', TELEMETRY_GAP_CRON: '*/2 * * * *' });
    const all = queueSchedules(config, QUEUE_NAMES);
    expect(all.map((s) => `${s.queue}:${s.name}:${s.jobName}`)).toEqual([
      'telemetry:telemetry-gaps:telemetry.evaluate-gaps',
      'backups:daily:backup.run',
      'backups:weekly:backup.run',
      'backups:verify:backup.verify',
      'backups:retention:backup.retention',
      'maintenance:maintenance:maintenance.cleanup',
    ]);
    expect(all.find((s) => s.name === 'daily')!.cron).toBe('0 3 * * *');
    expect(all.find((s) => s.name === 'maintenance')!.cron).toBe('30 4 * * *');
    expect(all.find((s) => s.name === 'telemetry-gaps')!.cron).toBe('*/2 * * * *');
    expect(queueSchedules(config, ['orders', 'locations'])).toEqual([]);
  });

  it('discards queued jobs after a restore only on the queues that carry outbox events', () => {
    expect(TIMELINE_QUEUES).toEqual(['orders', 'dispatches', 'webhooks']);
  });

  it('has a queue and a job for every outbox event, whose schema is the event plus what the relay adds', () => {
    // Fields a job may carry beyond its event's when the worker queues it itself (not through the outbox).
    const workerQueued: Record<string, string[]> = { 'webhook.deliver': ['attemptsBefore'] };
    for (const event of OUTBOX_EVENTS) {
      expect(isQueueName(event.queue), event.queue).toBe(true);
      const schema = queueDefinition(event.queue as (typeof QUEUE_NAMES)[number]).jobs[event.job];
      expect(schema, `${event.queue}/${event.job}`).toBeDefined();
      expect(Object.keys((schema as unknown as typeof event.payload).shape).sort()).toEqual(
        [...Object.keys(event.payload.shape), 'eventId', 'eventKey', ...(workerQueued[event.job] ?? [])].sort(),
      );
    }
  });
});
