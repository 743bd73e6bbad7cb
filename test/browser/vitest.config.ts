import { defineProject } from 'vitest/config';

// The browser suite: the built demo PWA in Debian's headless Chromium (playwright-core), against a
// real server on a temporary SQLite file. One file at a time: each drives several browser contexts.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'browser',
    include: ['**/*.test.ts'],
    globalSetup: ['./global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
