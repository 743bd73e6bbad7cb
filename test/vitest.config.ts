import { defineProject } from 'vitest/config';

// The cross-package system suite: the real server as a child process, devices, network faults,
// seeded convergence runs and the security suite. Browser and scale-out suites have their own
// projects under test/browser and test/scale-out.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'system',
    include: ['harness/**/*.test.ts', 'scenarios/**/*.test.ts', 'security/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
