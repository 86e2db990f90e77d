/**
 * Scenario 7: a burst of GPS posts at ten times the normal rate. The API keeps
 * answering (429 for drivers over their limit, 202 for the rest), Redis memory stays
 * bounded, and the backlog drains afterwards with every accepted point stored.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { driverTokens, report, storedPoints } from '../helpers/chaos.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startPrivateRedis } from '../helpers/private-redis.js';
import { startUvisProcess } from '../helpers/uvis-process.js';
import { newPrefix } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

const NORMAL_PER_SECOND = 1;
const BURST_SECONDS = 8;

describe('burst of GPS posts', () => {
  it('answers 202 or 429 throughout, keeps Redis memory bounded, and drains the backlog', async () => {
    const redis = await startPrivateRedis();
    const database = await createTestDatabase();
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => redis.destroy(),
      () => database.drop(),
      () => db.destroy(),
    );
    // A driver posting every second uses 60 a minute; the limit leaves that room and no more.
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, REDIS_PREFIX: newPrefix(), RATE_LIMIT_LOCATION: '60', RATE_LIMIT_WINDOW_SECONDS: '60' };
    const api = await startUvisProcess('api', env);
    const worker = await startUvisProcess('worker', env);
    cleanups.push(
      () => api.stop(),
      () => worker.stop(),
    );
    const client = new ApiClient(api.url);
    const drivers = await driverTokens(db, client, 40);
    const [bursting, normal] = [drivers.slice(0, 30), drivers.slice(30)];

    const probe = new Redis(redis.url);
    cleanups.push(async () => probe.disconnect());
    const memory = async () => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))![1]) / 2 ** 20;
    const before = await memory();
    let peak = before;
    const sampler = setInterval(() => void memory().then((m) => (peak = Math.max(peak, m))), 200);

    const statuses: Record<string, number> = {};
    const latencies: number[] = [];
    let accepted = 0;
    const post = async (token: string, i: number) => {
      const started = Date.now();
      try {
        const res = await client.post('/api/v1/mobile/location', { latitude: 37 + i / 1e4, longitude: 127 }, token);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 202) accepted++;
      } catch {
        statuses.network = (statuses.network ?? 0) + 1;
      }
      latencies.push(Date.now() - started);
    };
    const drive = async (token: string, perSecond: number) => {
      const interval = 1000 / perSecond;
      const started = Date.now();
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < BURST_SECONDS * perSecond; i++) {
        inFlight.push(post(token, i));
        // Deliberately timed: this is a fixed-rate load generator (the burst is defined by
        // its rate), pacing what it sends, not waiting for a result.
        const wait = started + (i + 1) * interval - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await Promise.all(inFlight);
    };
    await Promise.all([...bursting.map((d) => drive(d.token, NORMAL_PER_SECOND * 10)), ...normal.map((d) => drive(d.token, NORMAL_PER_SECOND))]);
    const ids = drivers.map((d) => d.driverId);
    const drainStarted = Date.now();
    await waitFor(async () => (await storedPoints(db, ids)).rows === accepted, { timeoutMs: 60_000, intervalMs: 250, what: 'the backlog to drain' });
    const drainMs = Date.now() - drainStarted;
    clearInterval(sampler);
    const after = await memory();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    const sent = Object.values(statuses).reduce((a, b) => a + b, 0);
    report('burst', {
      injected: `${bursting.length} drivers at ${NORMAL_PER_SECOND * 10}/s and ${normal.length} at ${NORMAL_PER_SECOND}/s for ${BURST_SECONDS} s`,
      sent,
      responses: statuses,
      p99Ms: p99,
      pointsAccepted: accepted,
      pointsStored: (await storedPoints(db, ids)).rows,
      drainMs,
      redisMb: { before: before.toFixed(1), peak: peak.toFixed(1), after: after.toFixed(1) },
    });
    expect(Object.keys(statuses).sort()).toEqual(['202', '429']);
    // Every normal driver got through; every bursting one was limited to its 60.
    expect(statuses['202']).toBe(bursting.length * 60 + normal.length * BURST_SECONDS * NORMAL_PER_SECOND);
    // A bound that catches a hang (requests stuck behind a stalled event loop or a lost Redis
    // reply), not a latency target: those are measured by the benchmarks. On this 2-core machine
    // the p99 of this burst moved between 0.4 and 3.1 s from run to run, on this build and on the
    // previous one alike, so the old 1 s bound failed on the machine's speed, not on UVIS.
    expect(p99).toBeLessThan(5000);
    expect(peak - before).toBeLessThan(64);
    expect((await storedPoints(db, ids)).distinct).toBe(accepted);
  });
});
