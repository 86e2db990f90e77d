import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/{unit,integration,e2e,browser,deploy}/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every file has its own database and Redis prefix, so files run in parallel safely.
    pool: 'forks',
    reporters: ['default'],
  },
});
