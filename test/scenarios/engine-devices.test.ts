/**
 * Real engines, each in its own worker thread with its own replica (memory or Dexie over
 * fake-indexeddb), against the server child process through the fault proxy: the multi-device
 * behaviours of docs/API.md under disconnects, proxy faults and a server kill, then seeded runs of the
 * same scenarios as the protocol-level devices.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, accountOf, peerOf } from '../harness/cluster.js';
import { EngineDevice } from '../harness/engine-device.js';
import type { EngineSnapshot } from '../harness/engine-rpc.js';
import { runEngineScenario } from '../harness/engine-run.js';
import { scenarioArbitrary } from '../harness/scenario.js';
import { WireClient } from '../harness/wire-client.js';
import { waitFor } from '../harness/wait.js';

/**
 * The fixed CI seeds. Seed 11 found the stale-after-`synced` engine bug of issue 4 (a state pulled
 * while a local write of it was being pushed was lost when the push answered with an older one;
 * fixed by the join replicator, replication/collection.ts). Replay other seeds with `CONVSYNC_SEEDS=7,42`.
 */
const SEEDS = process.env['CONVSYNC_SEEDS'] === undefined ? [11, 12] : process.env['CONVSYNC_SEEDS'].split(',').map(Number);
/** Engine workers start in seconds each (TypeScript compiled per worker, RxDB opened). */
const RUN_TIMEOUT = 240_000;

describe('engine devices in worker threads', () => {
  const cluster = new Cluster();
  const devices: EngineDevice[] = [];
  beforeAll(async () => {
    await cluster.start();
  });
  afterAll(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
    await cluster.close();
  });

  const until = async (device: EngineDevice, what: string, ok: (s: EngineSnapshot) => boolean) => {
    let last: EngineSnapshot | undefined;
    await waitFor(async () => {
      last = await device.snapshot();
      return ok(last);
    }, { what: `${device.deviceId}: ${what}`, timeoutMs: 20_000, intervalMs: 100 }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nlast snapshot: ${JSON.stringify(last)}`);
    });
  };

  it('two devices of one account (memory and Dexie) converge through disconnects, a proxy reset and a server kill', async () => {
    const run = await cluster.newRun();
    const account = accountOf(run, 0);
    const token = cluster.server.token(account);
    const a = new EngineDevice({ url: cluster.url, token, deviceId: `r${run}ea`, storage: 'memory', skewMs: 0 });
    const b = new EngineDevice({ url: cluster.url, token, deviceId: `r${run}eb`, storage: 'dexie', skewMs: -6 * 3600_000 });
    devices.push(a, b);
    await Promise.all([a.ready, b.ready]);
    const chat = `${account}|1|${peerOf(run)}`;

    // A message from the peer creates the conversation on both devices, unread 1.
    const peer = await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(peerOf(run)) });
    expect((await peer.request('message:send', { clientMessageId: 'p1', conversationId: `${peerOf(run)}|1|${account}`, text: 'hi' })).ok).toBe(true);
    peer.close();
    for (const d of [a, b]) await until(d, 'the peer message', (s) => s.conversations.some((c) => c.conversationId === chat && c.unreadCount === 1));

    // Offline on A: pin and mark read; B is told once A is back.
    await a.call({ kind: 'disconnect' });
    await a.call({ kind: 'pin', conversationId: chat, on: true });
    const readTime = await a.call({ kind: 'markRead', conversationId: chat });
    expect(typeof readTime).toBe('number');
    cluster.proxy?.reset();
    await a.call({ kind: 'connect' });
    await until(b, 'the pin and the read from A', (s) => s.conversations.some((c) => c.conversationId === chat && c.stickTop && c.unreadCount === 0));

    // The server dies; B sends offline-ish (the outbox waits), the server returns, delivered once.
    await cluster.kill();
    const clientMessageId = await b.call({ kind: 'send', conversationId: chat, text: 'while the server was down' });
    await cluster.restart();
    await until(b, 'the message succeeded', (s) => s.sent.some((m) => m.clientMessageId === clientMessageId && m.state === 'succeeded'));
    const reader = await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(peerOf(run)) });
    const history = await reader.request('message:list', { conversationId: `${peerOf(run)}|1|${account}`, limit: 100 });
    reader.close();
    expect(history.ok && (history.messages as { messageClientId: string }[]).filter((m) => m.messageClientId === clientMessageId).length).toBe(1);

    const [sa, sb] = [await a.settle(), await b.settle()];
    expect(sa.conversations).toEqual(sb.conversations);
    expect(sa.readTimeRegressions).toEqual([]);
    expect(sb.readTimeRegressions).toEqual([]);
  }, RUN_TIMEOUT);

  it.each(SEEDS)('seed %i: engines converge with the server under faults, nothing lost, duplicated or moved back', async (seed) => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary({ minOps: 8, maxOps: 20 }), async (scenario) => {
        const result = await runEngineScenario(cluster, scenario);
        expect(result.failures).toEqual([]);
        expect(result.crashes).toBe(0);
      }),
      // A failure reports its seed at once; shrinking belongs to `pnpm soak`, not to CI's time budget.
      { seed, numRuns: 1, timeout: RUN_TIMEOUT - 20_000, verbose: 1, endOnFailure: true },
    );
  }, RUN_TIMEOUT);

  it('seed 11 with three tabs per device: tabs sharing a replica converge, the oldest tab replaced every few operations', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary({ minOps: 8, maxOps: 20 }), async (scenario) => {
        const result = await runEngineScenario(cluster, scenario, { tabs: 3 });
        expect(result.failures).toEqual([]);
        expect(result.crashes).toBe(0);
      }),
      { seed: 11, numRuns: 1, timeout: RUN_TIMEOUT - 20_000, verbose: 1, endOnFailure: true },
    );
  }, RUN_TIMEOUT);
});
