/**
 * GPS points and temperature readings are partitioned by month (migration 0017, db/partitions.ts):
 * a batch across a month boundary lands in both months and is still stored once, retention drops
 * only whole months, and a month created late takes its rows out of the default partition.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PointRow } from '../../db/locations.js';
import { dropPartitionsBefore, ensureMonthPartitions, listPartitions, monthPartitionName, monthStart, MONTHS_AHEAD } from '../../db/partitions.js';
import { insertReadings } from '../../db/temperatures.js';
import { LocationWriter } from '../../jobs/location-writer.js';
import { createLogger } from '../../lib/logger.js';
import { createMetrics } from '../../lib/metrics.js';
import { useTestDb } from '../helpers/databases.js';

const test = useTestDb();
const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const DAY = 86_400_000;

function point(driverId: number, key: string, recordedAt: Date, receivedAt = new Date()): PointRow {
  return {
    driver_id: driverId,
    latitude: 37.5,
    longitude: 127,
    speed_kmh: null,
    heading_deg: null,
    accuracy_m: null,
    recorded_at: recordedAt,
    received_at: receivedAt,
    point_key: key,
  };
}

/** Where each stored point of the prefix sits: point_key -> partition. */
async function placement(prefix: string): Promise<Record<string, string>> {
  const { rows } = await test.db.raw(
    `select point_key, tableoid::regclass::text as partition from vehicle_locations where point_key like ? order by point_key`,
    [`${prefix}%`],
  );
  return Object.fromEntries((rows as { point_key: string; partition: string }[]).map((r) => [r.point_key, r.partition]));
}

const names = async (table: 'vehicle_locations' | 'temperature_readings') => (await listPartitions(test.db, table)).map((p) => p.name);

describe('month partitions', () => {
  it('a fresh database has the default partition and this month and the next three', async () => {
    const now = new Date();
    const months = Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => monthStart(now, i));
    for (const table of ['vehicle_locations', 'temperature_readings'] as const) {
      expect(await names(table)).toEqual([...months.map((m) => monthPartitionName(table, m)), `${table}_default`]);
    }
  });

  it('a batch across a month boundary (through the location writer) lands in both months, and posted again is stored once', async () => {
    const boundary = monthStart(new Date(), 1);
    const before = new Date(boundary.getTime() - 1000);
    const after = new Date(boundary.getTime() + 1000);
    const batch = [
      point(1, `t:${before.toISOString()}`, before),
      point(1, `t:${after.toISOString()}`, after),
      point(3, 'k:mb-1', before),
      point(3, 'k:mb-2', after),
    ];
    const writer = new LocationWriter(test.db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 20 });
    await writer.write(batch);
    const thisMonth = monthPartitionName('vehicle_locations', monthStart(new Date()));
    const nextMonth = monthPartitionName('vehicle_locations', boundary);
    const stored = async () => ({ ...(await placement('t:')), ...(await placement('k:mb-')) });
    expect(await stored()).toEqual({
      [`t:${before.toISOString()}`]: thisMonth,
      [`t:${after.toISOString()}`]: nextMonth,
      'k:mb-1': thisMonth,
      'k:mb-2': nextMonth,
    });
    // The same batch again, twice at once, and the point ids again with other receipt times on the other side of the boundary.
    await Promise.all([writer.write(batch), writer.write(batch)]);
    await writer.write([point(3, 'k:mb-1', after), point(3, 'k:mb-2', before)]);
    // A post and its retry in one batch, differing only in receipt time across the boundary.
    await writer.write([point(3, 'k:mb-3', before), point(3, 'k:mb-3', after)]);
    const counts = await test
      .db('vehicle_locations')
      .whereIn('driver_id', [1, 3])
      .groupBy('point_key')
      .select('point_key')
      .count<{ point_key: string; count: string }[]>('*');
    expect(counts.filter((c) => Number(c.count) !== 1)).toEqual([]);
    expect(await stored()).toEqual({
      [`t:${before.toISOString()}`]: thisMonth,
      [`t:${after.toISOString()}`]: nextMonth,
      'k:mb-1': thisMonth,
      'k:mb-2': nextMonth,
      'k:mb-3': thisMonth,
    });
  });

  it('a point id sent again by two batches at once, on both sides of a boundary, is stored once', async () => {
    const boundary = monthStart(new Date(), 2);
    const sides = [new Date(boundary.getTime() - 1), new Date(boundary.getTime())];
    for (let round = 0; round < 5; round++) {
      const writers = sides.map(() => new LocationWriter(test.db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 1 }));
      await Promise.all(writers.map((w, i) => w.write([point(4, `k:race-${round}`, sides[i]!)])));
    }
    expect(Number((await test.db('vehicle_locations').where('point_key', 'like', 'k:race-%').count<{ c: string }[]>('* as c'))[0]!.c)).toBe(5);
  });

  it('retention drops only the months wholly before the cutoff; a month straddling it keeps all its rows; the default partition is trimmed', async () => {
    const table = 'vehicle_locations';
    const now = new Date();
    // Four past months (m-4 .. m-1), created as the maintenance job would have when they were ahead.
    expect(await ensureMonthPartitions(test.db, table, monthStart(now, -4), 3)).toEqual(
      [-4, -3, -2, -1].map((o) => monthPartitionName(table, monthStart(now, o))),
    );
    const cutoff = new Date(monthStart(now, -2).getTime() + 10 * DAY);
    const at = (offset: number, days: number) => new Date(monthStart(now, offset).getTime() + days * DAY);
    const rows = [
      ...[1, 5, 20].map((d) => point(5, `r:m4:${d}`, at(-4, d))),
      ...[1, 5, 20].map((d) => point(5, `r:m3:${d}`, at(-3, d))),
      // The straddling month: 2 rows before the cutoff, 2 after.
      ...[1, 5, 15, 20].map((d) => point(5, `r:m2:${d}`, at(-2, d))),
      ...[1, 5].map((d) => point(5, `r:m1:${d}`, at(-1, d))),
      // No partition for m-6 or m+6: the default partition holds them.
      ...[1, 2].map((d) => point(5, `r:m6:${d}`, at(-6, d))),
      point(5, 'r:p6:1', at(6, 1)),
    ];
    await new LocationWriter(test.db, createMetrics('test'), log, { maxPoints: 1000, maxWaitMs: 5 }).write(rows);
    const before = await names(table);
    const result = await dropPartitionsBefore(test.db, table, cutoff);
    expect(result).toEqual({
      partitionsDropped: [monthPartitionName(table, monthStart(now, -4)), monthPartitionName(table, monthStart(now, -3))],
      rowsDeleted: 2,
    });
    expect(await names(table)).toEqual(before.filter((n) => !result.partitionsDropped.includes(n)));
    expect(Object.keys(await placement('r:')).sort()).toEqual(['r:m1:1', 'r:m1:5', 'r:m2:1', 'r:m2:15', 'r:m2:20', 'r:m2:5', 'r:p6:1']);
    // Run again: nothing more goes.
    expect(await dropPartitionsBefore(test.db, table, cutoff)).toEqual({ partitionsDropped: [], rowsDeleted: 0 });
  });

  it('a month created late takes its rows out of the default partition; creating months again creates nothing', async () => {
    const now = new Date();
    const far = new Date(monthStart(now, 7).getTime() + 3 * DAY);
    await test.db.raw(`insert into temperature_readings (vehicle_id, recorded_at, temperature_c, source) values (1, ?, 4.5, 'gateway')`, [far]);
    expect((await test.db.raw(`select tableoid::regclass::text as p from temperature_readings where recorded_at = ?`, [far])).rows[0].p).toBe(
      'temperature_readings_default',
    );
    const created = await ensureMonthPartitions(test.db, 'temperature_readings', monthStart(now, 4), 3);
    expect(created).toEqual([4, 5, 6, 7].map((o) => monthPartitionName('temperature_readings', monthStart(now, o))));
    const moved = await test.db.raw(`select tableoid::regclass::text as p, temperature_c from temperature_readings where recorded_at = ?`, [far]);
    expect(moved.rows).toEqual([{ p: monthPartitionName('temperature_readings', monthStart(now, 7)), temperature_c: 4.5 }]);
    // The upsert of a reading for the same instant still finds it (the unique key holds in its new partition).
    await insertReadings(test.db as never, [
      { vehicle_id: 1, sensor: 'main', recorded_at: far, temperature_c: 6, setpoint_c: null, door_open: null, source: 'gateway', received_at: new Date() },
    ]);
    expect((await test.db('temperature_readings').where({ recorded_at: far })).map((r) => r.temperature_c)).toEqual([6]);
    expect(await ensureMonthPartitions(test.db, 'temperature_readings', monthStart(now, 4), 3)).toEqual([]);
  });
});
