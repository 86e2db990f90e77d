import { defineConfig } from 'vitest/config';

// The Redis users' tests again, on a real Redis Cluster (3 masters, 3 replicas) started for the run:
// queues and workers, GPS posts, caches, rate limits and the sign-in guard, idempotency keys, live events,
// session eviction across API replicas, Bull Board, and the seed's end-to-end flow and clients.
export default defineConfig({
  test: {
    include: [
      'tests/cluster/**/*.test.ts',
      'tests/integration/{jobs,locations,cache,rate-limits,idempotency,dashboard-api,principal-cache,auth,bull-board,use-cases}.test.ts',
      'tests/e2e/{seed-flow,seed-clients}.test.ts',
    ],
    globalSetup: ['tests/helpers/cluster-setup.ts', 'tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
