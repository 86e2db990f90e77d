/** The batching location writer stores every point exactly once: on retries, after a batch fails half-way, when stopped mid-batch. */
import { Writable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import type { PointRow } from '../../db/locations.js';
import { createLogger } from '../../lib/logger.js';
import { createMetrics } from '../../lib/metrics.js';
import { LocationWriter, newestPerDriver } from '../../jobs/location-writer.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

let database: TestDatabase;
let db: Db;
const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ url: database.url, poolMin: 0, poolMax: 5, statementTimeoutMs: 10_000 });
});
afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

let seq = 0;
function points(driverId: number, n: number, prefix = `p${++seq}`): PointRow[] {
  const base = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) => ({
    driver_id: driverId,
    latitude: 37 + i / 1000,
    longitude: 127,
    speed_kmh: null,
    heading_deg: null,
    accuracy_m: null,
    recorded_at: new Date(base + i * 100),
    received_at: new Date(),
    point_key: `${prefix}:${i}`,
  }));
}

const stored = async (prefix: string) =>
  Number((await db('vehicle_locations').where('point_key', 'like', `${prefix}:%`).count<{ c: string }[]>('* as c'))[0]!.c);

describe('location writer', () => {
  it('batches concurrent jobs into one transaction and keeps the newest position per driver', async () => {
    const metrics = createMetrics('test');
    const writer = new LocationWriter(db, metrics, log, { maxPoints: 10_000, maxWaitMs: 30 });
    const jobs = [points(1, 50, 'batch-a'), points(3, 30, 'batch-b'), points(1, 20, 'batch-c')];
    await Promise.all(jobs.map((p) => writer.write(p)));
    expect(await stored('batch-a')).toBe(50);
    expect(await stored('batch-b')).toBe(30);
    const batches = (await metrics.registry.getSingleMetricAsString('uvis_location_batch_points')).match(/_count\S* (\d+)/)![1];
    expect(Number(batches)).toBe(1);
    expect(Number(await metrics.locationsStored.get().then((m) => m.values[0]!.value))).toBe(100);
    const newest = newestPerDriver(jobs.flat()).find((p) => p.driver_id === 1)!;
    const position = await db('driver_positions').where({ driver_id: 1 }).first();
    expect(position.recorded_at.getTime()).toBe(newest.recorded_at.getTime());
  });

  it('a retried job stores nothing twice', async () => {
    const writer = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 5 });
    const job = points(4, 40, 'retry');
    await writer.write(job);
    await writer.write(job);
    await Promise.all([writer.write(job), writer.write(job)]);
    expect(await stored('retry')).toBe(40);
  });

  it('a batch that fails half-way commits nothing; its jobs fail, and their retries store every point once', async () => {
    // The first upsert of positions raises: the points were already inserted in the same transaction.
    await db.raw(`
      create sequence fail_once_seq;
      create function fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('fail_once_seq') = 1 then raise exception 'injected failure half-way through the batch'; end if;
        return new;
      end $$;
      create trigger fail_once before insert or update on driver_positions for each row execute function fail_once();`);
    try {
      const writer = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 20 });
      const jobs = [points(2, 25, 'half-a'), points(5, 25, 'half-b')];
      const first = await Promise.allSettled(jobs.map((p) => writer.write(p)));
      expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(await stored('half-a')).toBe(0);
      expect(await stored('half-b')).toBe(0);
      await Promise.all(jobs.map((p) => writer.write(p)));
      expect(await stored('half-a')).toBe(25);
      expect(await stored('half-b')).toBe(25);
    } finally {
      await db.raw('drop trigger fail_once on driver_positions; drop function fail_once(); drop sequence fail_once_seq;');
    }
  });

  it("one job's bad data does not fail its neighbours in the batch", async () => {
    const writer = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 20 });
    const good = points(3, 10, 'neighbour-good');
    const bad = points(999_999, 5, 'neighbour-bad'); // no such driver: a constraint violation
    const results = await Promise.allSettled([writer.write(good), writer.write(bad)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(await stored('neighbour-good')).toBe(10);
    // Bad data cannot succeed on a retry: the job fails for good (BullMQ skips its retries).
    const refused = (results[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(UnrecoverableError);
    expect(refused.message).toBe('PostgreSQL refused the points (SQLSTATE 23503)');
  });

  it('stopped mid-batch, it writes what is waiting before it closes', async () => {
    const writer = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 100_000, maxWaitMs: 60_000 });
    const waiting = [writer.write(points(2, 7, 'stop-a')), writer.write(points(3, 8, 'stop-b'))];
    expect(await stored('stop-a')).toBe(0);
    await writer.close();
    await Promise.all(waiting);
    expect(await stored('stop-a')).toBe(7);
    expect(await stored('stop-b')).toBe(8);
  });

  it('two workers writing the same drivers in opposite orders wait for each other instead of deadlocking', async () => {
    const drivers = [1, 2, 3, 4];
    const one = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 1, maxWaitMs: 1 });
    const two = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 1, maxWaitMs: 1 });
    for (let round = 0; round < 30; round++) {
      const forward = drivers.flatMap((d) => points(d, 3, `fwd-${round}-${d}`));
      const backward = [...drivers].reverse().flatMap((d) => points(d, 3, `bwd-${round}-${d}`));
      await Promise.all([one.write(forward), two.write(backward)]);
    }
    expect(await stored('fwd-29-4')).toBe(3);
  });
});
