/**
 * Seeded model-based convergence runs (fast-check): random user operations over 2–5 devices of
 * 1–3 accounts interleaved with random faults — devices offline, the proxy cutting, resetting,
 * blackholing and delaying, pushes replayed duplicated and out of order, clocks skewed by up to
 * ±24 h, the server SIGKILLed and crashed at a chosen point of a write — then, healed and quiet,
 * every invariant of issue 4 is checked. A failure prints its seed and the shrunk sequence.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.js';
import { runScenario, type RunResult } from '../harness/run.js';
import { scenarioArbitrary } from '../harness/scenario.js';

/** CI's fixed seeds (a failing soak seed is added here as a regression). */
const SEEDS = [1, 2, 3, 4];
const RUNS_PER_SEED = Number(process.env.CONVERGENCE_RUNS ?? 3);

describe('convergence under faults (protocol-level devices)', () => {
  const cluster = new Cluster();
  const results: RunResult[] = [];
  beforeAll(async () => {
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.close();
  });

  it.each(SEEDS)('seed %i: every device equals the server, nothing lost, duplicated or moved back', async (seed) => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary({ minOps: 10, maxOps: 30 }), async (scenario) => {
        const result = await runScenario(cluster, scenario);
        results.push(result);
        expect(result.failures).toEqual([]);
        expect(result.crashes).toBe(0);
      }),
      { seed, numRuns: RUNS_PER_SEED, timeout: 60_000, interruptAfterTimeLimit: 100_000, verbose: 1 },
    );
  });

  it('the runs exercised faults and checked writes', () => {
    expect(results.reduce((n, r) => n + r.faults, 0)).toBeGreaterThan(0);
    expect(results.reduce((n, r) => n + r.writesChecked, 0)).toBeGreaterThan(0);
    expect(results.reduce((n, r) => n + r.messagesChecked, 0)).toBeGreaterThan(0);
    console.info(`convergence: ${results.length} runs, ${cluster.kills} kills, ${cluster.crashPointsFired}/${cluster.crashPointsArmed} crash points fired, ` +
      `${results.reduce((n, r) => n + r.writesChecked, 0)} writes and ${results.reduce((n, r) => n + r.messagesChecked, 0)} messages checked`);
  });
});
