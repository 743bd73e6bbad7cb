import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  // RxDB allows 13 open collections per process: engine test files run in their own workers, and
  // tests inside a file run one after another, each closing its engines.
  test: { name: 'engine', include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
});
