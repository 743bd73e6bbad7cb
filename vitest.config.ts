import { defineConfig } from 'vitest/config';

// One run covers every package; the `source` condition resolves workspace packages to their
// TypeScript sources, so tests never need a build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    projects: ['packages/*/vitest.config.ts', 'test/**/vitest.config.ts', '!**/node_modules/**'],
  },
});
