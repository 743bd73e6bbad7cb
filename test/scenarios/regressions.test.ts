/**
 * Named regressions: every failure a seeded run or the soak found, replayed as a fixed scenario
 * (the shrunk counterexample), with the protocol-level devices and with real engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.js';
import { runEngineScenario } from '../harness/engine-run.js';
import { runScenario } from '../harness/run.js';
import type { Scenario } from '../harness/scenario.js';

/**
 * Soak seeds 409273365 and 1138143393: a peer's team message killed after its commit (never
 * acknowledged) still exists and counts as unread; the model once ignored it and reported
 * "unread 1, messages say 0". Senders retry unacknowledged sends, so the message is known once.
 */
const unackedCommittedMessage: Scenario = {
  devicesPerAccount: [2],
  skews: [0, 0],
  storages: ['memory', 'dexie'],
  ops: [
    { kind: 'crashAt', point: 'crash-after-commit', event: 'message:send', nth: 1 },
    { kind: 'peerSend', a: 0, team: true },
    { kind: 'delete', d: 1, c: 0, clear: false },
    { kind: 'restart' },
    { kind: 'markRead', d: 0, c: 0 },
  ],
};

describe('regressions found by the seeded runs', () => {
  const cluster = new Cluster();
  beforeAll(async () => {
    await cluster.start();
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('a message committed but never acknowledged is counted once its sender retries (protocol-level devices)', async () => {
    const result = await runScenario(cluster, unackedCommittedMessage);
    expect(result.failures).toEqual([]);
    expect(result.messagesChecked).toBe(1);
    expect(cluster.crashPointsFired).toBeGreaterThan(0);
  });

  it('a message committed but never acknowledged is counted once its sender retries (engines)', async () => {
    const result = await runEngineScenario(cluster, unackedCommittedMessage);
    expect(result.failures).toEqual([]);
    expect(result.messagesChecked).toBe(1);
  }, 240_000);
});
