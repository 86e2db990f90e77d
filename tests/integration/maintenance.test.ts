/** The daily cleanup keeps growing tables in shape and removes only what is past its retention. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPartitions, monthPartitionName, monthStart, PARTITIONED_TABLES, type PartitionedTable } from '../../db/partitions.js';
import { waitFor } from '../helpers/api-client.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all', env: { LOCATION_RETENTION_DAYS: '30', OUTBOX_RETENTION_DAYS: '7', IDEMPOTENCY_KEY_TTL_HOURS: '48' } });
});
afterAll(async () => {
  await uvis?.stop();
});

describe('maintenance cleanup', () => {
  it('deletes GPS points, relayed outbox rows, idempotency keys and sessions past retention, and nothing newer', async () => {
    const { db, queues } = uvis.running.deps;
    await db.raw(`
      insert into vehicle_locations (driver_id, latitude, longitude, recorded_at, received_at, point_key)
        select 2, 37, 127, now() - (i * interval '1 day'), now(), 'm:' || i from generate_series(1, 60) i;
      insert into outbox (queue, job_name, payload, created_at, published_at) values
        ('orders', 'order.changed', '{}', now() - interval '10 days', now() - interval '10 days'),
        ('orders', 'order.changed', '{}', now() - interval '1 day', now() - interval '1 day');
      insert into idempotency_keys (owner, user_id, key, method, path, request_hash, created_at) values
        ('user:1', 1, 'old-key', 'POST', '/x', 'h', now() - interval '3 days'), ('user:1', 1, 'new-key', 'POST', '/x', 'h', now() - interval '1 hour');
      insert into sessions (id, user_id, expires_at, revoked_at) values
        ('33333333-3333-4333-8333-333333333333', 1, now() - interval '40 days', null),
        ('44444444-4444-4444-8444-444444444444', 1, now() + interval '10 days', null);`);
    // A row created long ago and never relayed (the relay is stopped for this moment) must survive.
    await uvis.running.deps.relay.stop();
    const [unrelayed] = await db('outbox')
      .insert({ queue: 'orders', job_name: 'order.changed', payload: {}, created_at: db.raw(`now() - interval '30 days'`) })
      .returning('id');
    const job = await queues.maintenance.add('maintenance.cleanup', {});
    await waitFor(async () => (await queues.maintenance.getJobState(job.id!)) === 'completed', { what: 'cleanup' });
    const points = await db('vehicle_locations').where('point_key', 'like', 'm:%').pluck('point_key');
    // Days 1 to 29 remain (day 30 sits on the boundary, deleted or not depending on the clock's milliseconds).
    expect(points.length).toBeGreaterThanOrEqual(29);
    expect(points.length).toBeLessThanOrEqual(30);
    expect(points).not.toContain('m:31');
    const outbox = await db('outbox').select('published_at');
    expect(outbox.filter((r) => r.published_at && Date.now() - r.published_at.getTime() > 7 * 86_400_000)).toEqual([]);
    // An unrelayed row is never removed, however old.
    expect(await db('outbox').where({ id: unrelayed.id }).first()).toMatchObject({ published_at: null });
    expect(await db('idempotency_keys').pluck('key')).toEqual(['new-key']);
    expect(await db('sessions').where({ id: '33333333-3333-4333-8333-333333333333' }).first()).toBeUndefined();
    expect(await db('sessions').where({ id: '44444444-4444-4444-8444-444444444444' }).first()).toBeTruthy();
    const result = (await queues.maintenance.getJob(job.id!))!.returnvalue;
    // Past months have no partition in a fresh database: the default partition holds them and is trimmed row by row.
    expect(result.locations.rowsDeleted).toBeGreaterThanOrEqual(30);
  });

  it('creates the month partitions ahead (this month and the next three), again only what is missing', async () => {
    const { db, queues } = uvis.running.deps;
    const now = new Date();
    const expected = (table: PartitionedTable) => [0, 1, 2, 3].map((o) => monthPartitionName(table, monthStart(now, o)));
    // As if the job had not run for a while: the last month ahead of each table is missing.
    for (const table of PARTITIONED_TABLES) await db.raw(`drop table ??`, [expected(table)[3]!]);
    const run = async () => {
      const job = await queues.maintenance.add('maintenance.cleanup', {});
      await waitFor(async () => (await queues.maintenance.getJobState(job.id!)) === 'completed', { what: 'cleanup' });
      return (await queues.maintenance.getJob(job.id!))!.returnvalue;
    };
    const first = await run();
    expect(first.locations.partitionsCreated).toEqual([expected('vehicle_locations')[3]]);
    expect(first.temperatures.partitionsCreated).toEqual([expected('temperature_readings')[3]]);
    for (const table of PARTITIONED_TABLES) {
      const names = (await listPartitions(db, table)).map((p) => p.name);
      expect(names.filter((n) => /_\d{4}_\d{2}$/.test(n))).toEqual(expected(table));
    }
    const second = await run();
    expect([second.locations.partitionsCreated, second.temperatures.partitionsCreated]).toEqual([[], []]);
  });
});
