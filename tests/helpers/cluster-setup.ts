/**
 * Global setup of `npm run test:cluster`: a real Redis Cluster (tests/helpers/redis-cluster.ts)
 * for the whole run. REDIS_CLUSTER_NODES is set before the test processes start, so every UVIS the
 * tests start, and every connection the tests open themselves (testRedis), goes to the cluster.
 */
import { startRedisCluster } from './redis-cluster.js';

export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster();
  process.env.REDIS_CLUSTER_NODES = cluster.seeds;
  return () => cluster.destroy();
}
