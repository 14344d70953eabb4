import { defineConfig } from 'vitest/config';

/** End-to-end tests: the built web host with real training, driven through Debian's Chromium (npm run test:e2e). */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    // Limits only catch hangs (see vitest.config.ts); waits inside the tests use E2E_WAIT_MS.
    testTimeout: 900_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
