/**
 * Scrape-time gauges read PostgreSQL once per scrape, however many gauges one query
 * fills, and at most once a second however many scrapes arrive.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../lib/metrics.js';
import { registerBackupGauges, registerDatabaseGauges } from '../../app/scrape-metrics.js';
import { cachedRead } from '../../lib/cached-read.js';
import { useTestDb } from '../helpers/databases.js';

const testDb = useTestDb();

describe('scrape-time gauges', () => {
  it('one outbox query and one backups query per scrape', async () => {
    const metrics = createMetrics('test');
    const { db } = testDb;
    registerDatabaseGauges(metrics, db);
    registerBackupGauges(metrics, db);
    const queries: string[] = [];
    const listener = (q: { sql: string }) => queries.push(q.sql);
    db.on('query', listener);
    try {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^uvis_outbox_pending\{role="test"\} \d+$/m);
      expect(text).toMatch(/^uvis_outbox_oldest_pending_seconds\{role="test"\} [\d.]+$/m);
      expect(queries.filter((sql) => sql.includes('"outbox"'))).toHaveLength(1);
      expect(queries.filter((sql) => sql.includes('"backups"'))).toHaveLength(1);
      // Scrapes within the next second (concurrent or not) reuse that read.
      await Promise.all(Array.from({ length: 10 }, () => metrics.registry.metrics()));
      await metrics.registry.metrics();
      expect(queries.filter((sql) => sql.includes('"outbox"'))).toHaveLength(1);
      expect(queries.filter((sql) => sql.includes('"backups"'))).toHaveLength(1);
      // Once the second is over, a scrape reads afresh.
      const deadline = Date.now() + 5000;
      while (queries.filter((sql) => sql.includes('"outbox"')).length < 2 && Date.now() < deadline) await metrics.registry.metrics();
      expect(queries.filter((sql) => sql.includes('"outbox"'))).toHaveLength(2);
    } finally {
      db.off('query', listener);
    }
  });

  it('cachedRead: concurrent callers share one read, later ones reuse it for cacheMs, a failure is not kept', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    const read = cachedRead(
      async () => {
        reads++;
        if (fail) throw new Error('down');
        return reads;
      },
      1000,
      () => now,
    );
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    now = 999;
    expect(await read()).toBe(1);
    now = 1000;
    fail = true;
    await expect(read()).rejects.toThrow('down');
    fail = false;
    expect(await read()).toBe(3);
    expect(reads).toBe(3);
  });
});
