import { defineConfig } from 'vitest/config';

// Fault-injection tests: real processes, real outages. They run one file at a time
// (they kill and restart servers, and measure) and take longer than the main suite.
export default defineConfig({
  test: {
    include: ['tests/chaos/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
