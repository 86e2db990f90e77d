/**
 * UVIS on a real Redis Cluster (3 masters, 3 replicas; started by tests/helpers/cluster-setup.ts
 * for `npm run test:cluster`): what only a cluster can show. The Redis users' own tests run in the
 * same run against the same cluster (vitest.cluster.config.ts).
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, queuePrefix } from '../../jobs/index.js';
import { deleteKeysWithPrefix, isCluster, loadScriptEverywhere, masters } from '../../lib/redis.js';
import { waitFor } from '../helpers/api-client.js';
import { createDriverAccount, createOrder } from '../helpers/fixtures.js';
import { newPrefix, startTestUvis, testRedis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let redis: Cluster;

/** host:port of the master that serves the key's slot, as the cluster itself says. */
const masterOf = (key: string) => redis.slots[calculateSlot(key)]![0]!;

beforeAll(async () => {
  expect(process.env.REDIS_CLUSTER_NODES, 'this file runs in `npm run test:cluster`').toBeTruthy();
  uvis = await startTestUvis({ role: 'all' });
  admin = await uvis.api.login();
  const client = testRedis();
  if (!isCluster(client)) throw new Error('testRedis() is not a cluster client');
  redis = client;
  await waitFor(async () => (redis.status === 'ready' ? true : undefined), { what: 'the cluster connection' });
  // The slot map this client read may come from a node whose view of a just-created cluster is still
  // converging: wait until it names a master for every slot, three masters in all (a few ms).
  await waitFor(
    async () => {
      if (redis.slots.length !== 16_384 || redis.slots.some((nodes) => !nodes?.[0])) return undefined;
      return new Set(redis.slots.map((nodes) => nodes[0])).size === 3 ? true : undefined;
    },
    { what: 'a complete slot map' },
  );
});
afterAll(async () => {
  await uvis?.stop();
  redis?.disconnect();
});

describe('UVIS on a Redis Cluster', () => {
  it('connects every Redis user in cluster mode, and readiness reports every master and the cluster state', async () => {
    expect(isCluster(uvis.running.deps.redis)).toBe(true);
    expect(masters(uvis.running.deps.redis)).toHaveLength(3);
    const ready = await uvis.api.get('/api/v1/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', redis: 'ok', redis_cluster: 'ok' });
  });

  it('keeps each queue in a slot of its own and, under the default prefix, spreads the queues over all three masters', async () => {
    // The test's own prefix is random, so its 7 slots may well fall on two masters (about one
    // run in six); the spread is a property of the default prefix `uvis`, which operators run.
    const prefix = uvis.config.redisPrefix;
    for (const redisPrefix of [prefix, 'uvis']) {
      const slots = QUEUE_NAMES.map((name) => calculateSlot(`${queuePrefix(redisPrefix, name)}:${name}:id`));
      expect(new Set(slots).size).toBe(QUEUE_NAMES.length);
    }
    const mastersUsed = new Set(QUEUE_NAMES.map((name) => masterOf(`${queuePrefix('uvis', name)}:${name}:id`)));
    expect(mastersUsed.size).toBe(3);

    // And the jobs really are there: an order's and a GPS post's jobs, each on its queue's master.
    const driver = await createDriverAccount(uvis.api, admin);
    const post = await uvis.api.post('/api/v1/mobile/location', { latitude: 37.5, longitude: 127 }, driver.token);
    expect(post.status).toBe(202);
    await createOrder(uvis.api, admin);
    for (const queue of ['locations', 'orders'] as const) {
      const idKey = `${queuePrefix(prefix, queue)}:${queue}:id`;
      const node = masters(uvis.running.deps.redis).find((n) => `${n.options.host}:${n.options.port}` === masterOf(idKey))!;
      await waitFor(async () => (Number(await node.get(idKey)) > 0 ? true : undefined), { what: `${queue} jobs on their master` });
    }
    await waitFor(async () => ((await uvis.running.deps.db('vehicle_locations').where('driver_id', driver.driverId)).length === 1 ? true : undefined), {
      what: 'the point stored',
    });
  });

  it('deletes a prefix on every master, across slots', async () => {
    const prefix = newPrefix();
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}:k${i}`);
    await Promise.all(keys.map((key) => redis.set(key, '1')));
    const holding = new Set(keys.map(masterOf));
    expect(holding.size).toBe(3);
    await deleteKeysWithPrefix(redis, prefix);
    const left = await Promise.all(keys.map((key) => redis.exists(key)));
    expect(left.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('loads a script on every master, so EVALSHA finds it wherever its key lives', async () => {
    const script = `return redis.call('INCR', KEYS[1]) -- ${newPrefix()}`;
    const sha = await loadScriptEverywhere(redis, script);
    const known = await Promise.all(masters(redis).map(async (node) => ((await node.script('EXISTS', sha)) as number[])[0]));
    expect(known).toEqual([1, 1, 1]);
    // One key on each master: EVALSHA runs on each without NOSCRIPT.
    const prefix = newPrefix();
    const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:n${i}`);
    expect(new Set(keys.map(masterOf)).size).toBe(3);
    for (const key of keys) expect(await redis.evalsha(sha, 1, key)).toBe(1);
    await deleteKeysWithPrefix(redis, prefix);
  });
});

describe('a single-node REDIS_URL pointed at a cluster node', () => {
  it('is refused at start-up with a message that names REDIS_CLUSTER_NODES, instead of failing request by request', async () => {
    const [first] = process.env.REDIS_CLUSTER_NODES!.split(',');
    const started = startTestUvis({ role: 'api', env: { REDIS_CLUSTER_NODES: '', REDIS_URL: `redis://${first}` } });
    await expect(started).rejects.toThrow(/REDIS_URL points at a node of a Redis Cluster: set REDIS_CLUSTER_NODES/);
  });
});
