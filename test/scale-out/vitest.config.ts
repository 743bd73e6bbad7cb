import { defineProject } from 'vitest/config';

// Several server processes (the CLI as child processes) on one PostgreSQL and one Redis. Needs both
// services: an unreachable one fails the suite (CI=true or not), it never skips.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'scale-out',
    include: ['**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
  },
});
