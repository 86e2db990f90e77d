/**
 * One compiled API process on a fresh database with `drivers` signed-in drivers, as the
 * per-process benchmarks (bench:cpu, bench:scrape) measure it: rate limits off, no worker.
 */
import { ensurePostgres, ensureRedis } from '../../lib/local-services.js';
import { BENCH_PASSWORD, clearRedisPrefix, createDrivers, freshDatabase, login } from './fixtures.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp, type Child } from './processes.js';

export interface BenchApi {
  api: Child;
  base: string;
  /** One access token per driver. */
  tokens: string[];
}

export async function startBenchApi(o: {
  baseDb: string;
  redis: string;
  database: string;
  prefix: string;
  port: number;
  drivers: number;
  /** Node options for the API process (e.g. --cpu-prof). */
  nodeOptions?: string[];
}): Promise<BenchApi> {
  ensureBuilt();
  await ensurePostgres(o.baseDb);
  await ensureRedis(o.redis);
  const url = await freshDatabase(o.baseDb, o.database);
  const emails = await createDrivers(url, o.drivers);
  await clearRedisPrefix(o.redis, o.prefix);
  const api = spawnNode('dist/main.js', ['api'], { ...uvisEnv(url, o.redis, o.prefix), PORT: String(o.port), RATE_LIMITS: 'off' }, o.nodeOptions);
  const base = `http://127.0.0.1:${o.port}`;
  try {
    await waitForHttp(`${base}/api/v1/health`, 60_000, api);
    return { api, base, tokens: await Promise.all(emails.map((e) => login(base, e, BENCH_PASSWORD))) };
  } catch (err) {
    await api.stop();
    throw err;
  }
}
