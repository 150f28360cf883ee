import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/local-cloud.setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One local cloud serves every file; tests isolate themselves by unique event ids.
          fileParallelism: false,
        },
      },
    ],
  },
});
