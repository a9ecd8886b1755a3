import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // `npm test` runs with coverage and fails below these shares, a few points under what the
    // suite reaches. Only code run in the test processes counts: the CLI, the mirror and the
    // publish-job and tiling threads run in processes and threads the tests start (the e2e,
    // mirror and CLI tests), which this report does not see.
    coverage: {
      provider: 'v8',
      thresholds: { statements: 78, branches: 68, functions: 78, lines: 80 },
      include: ['src/**/*.ts', 'pipeline/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
