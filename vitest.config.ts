import { defineConfig } from 'vitest/config';

// Heavy projects each start servers, workers (and a browser): on a 2-core machine they run one after
// another (sequence.groupOrder), and one file at a time within each. Unit tests run in parallel first.
const E2E_FILES = ['test/e2e/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: E2E_FILES,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The same end-to-end suite with every server on PostgreSQL (test/e2e/helpers/server.ts starts
        // one per file). The CLI's own tests are about the CLI, not the store: they run once, above.
        test: {
          name: 'e2e-postgres',
          include: E2E_FILES,
          exclude: ['test/e2e/cli-*.test.ts'],
          env: { KAIROS_TEST_DB: 'postgres' },
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'ui',
          include: ['test/ui/**/*.test.ts'],
          // Builds the UI and makes sure the system Chromium is there, once before the files run.
          globalSetup: ['test/ui/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'sdk',
          include: ['test/sdk/**/*.test.ts'],
          // Each file runs a server and workers in-process (and the official worker for cross-replay).
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 4 },
        },
      },
      {
        // Several server processes on one PostgreSQL, killed, paused and restarted (test/cluster).
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 5 },
        },
      },
    ],
  },
});
