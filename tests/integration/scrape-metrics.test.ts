/** Scrape-time gauges read PostgreSQL once per scrape, however many gauges one query fills. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../lib/metrics.js';
import { registerBackupGauges, registerDatabaseGauges } from '../../app/scrape-metrics.js';
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
      // The next scrape reads afresh.
      await metrics.registry.metrics();
      expect(queries.filter((sql) => sql.includes('"outbox"'))).toHaveLength(2);
    } finally {
      db.off('query', listener);
    }
  });
});
