import { configDefaults, defineConfig } from 'vitest/config';

/** Files under test/ that need no database, server or process. */
const UNIT_IN_TEST = ['test/lint-layers.test.ts', 'test/hostile-text.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites each start a database and a server; two cores run two at a time well.
    maxWorkers: 2,
    // `vitest run` runs both; `npm run test:unit` (`--project unit`) only the fast one.
    projects: [
      {
        extends: true,
        // No database, no server, no process: the tests beside the logic they check, and the lint rule's.
        test: { name: 'unit', include: ['src/**/*.test.ts', ...UNIT_IN_TEST] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT_IN_TEST],
          // Compiles the CLI for spawned processes and makes the PGlite template, once per run.
          globalSetup: ['test/helpers/global-setup.ts'],
          // test/worker-crash.test.ts runs its cases (four per database kind) at once: they spend
          // their time waiting for heartbeats and polls, not computing.
          maxConcurrency: 8,
        },
      },
    ],
  },
});
