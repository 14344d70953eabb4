import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // tfjs backends are process-global; one file per worker keeps them isolated.
    pool: 'forks',
    globalSetup: ['test/globalSetup.ts'],
  },
});
