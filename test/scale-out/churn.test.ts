/**
 * Process churn under load: while devices of two accounts push and message each other through
 * three processes, processes chosen by a seeded generator are SIGKILLed and started again on their
 * port, one after another. Afterwards every device holds exactly what a fresh replica would pull,
 * every acknowledged write is there, no device ever applied a change out of order, and every
 * message retried across a crash counts once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, requireServices, runId } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('server processes killed and restarted under load', () => {
  const cluster = new Cluster({ processes: 3 });
  const devices: WireDevice[] = [];
  const suffix = runId('').replace(/^_/, '');
  const seed = Number(process.env.CONVSYNC_CHURN_SEED ?? Date.now() % 100_000);

  beforeAll(async () => {
    await requireServices();
    await cluster.start();
  });

  afterEach(() => {
    for (const device of devices.splice(0)) device.close();
  });

  afterAll(async () => {
    await cluster.close();
  });

  it(`converges every device and loses nothing acknowledged (seed ${seed})`, async () => {
    const random = seeded(seed);
    const alice = `churn_a_${suffix}`;
    const bob = `churn_b_${suffix}`;
    const open = async (account: string, deviceId: string, start: number) => {
      const d = await WireDevice.open({ accountId: account, deviceId, token: await cluster.token(account), urls: cluster.urls, start });
      devices.push(d);
      return d;
    };
    const alices = await Promise.all([0, 1, 2, 0].map((node, i) => open(alice, `a${i}`, node)));
    const bobs = await Promise.all([1, 2].map((node, i) => open(bob, `b${i}`, node)));

    const acknowledged: string[] = [];
    const sent = new Map([[alice, 0], [bob, 0]]);
    let stop = false;
    const load = [...alices, ...bobs].map(async (d, i) => {
      for (let n = 0; !stop; n++) {
        if (d.accountId === alice) {
          const id = `${alice}|1|x${i}_${n}`;
          await d.push([newConversation(id)]);
          acknowledged.push(id);
        }
        if (n % 3 === i % 3) {
          const peer = d.accountId === alice ? bob : alice;
          await d.send(`${d.accountId}|1|${peer}`, `${d.options.deviceId} #${n}`, `${d.options.deviceId}_${n}`);
          sent.set(d.accountId, (sent.get(d.accountId) ?? 0) + 1);
        }
      }
    });

    const kills: number[] = [];
    const waitAcks = (n: number) => alices[0]?.waitFor(() => acknowledged.length >= n, 60_000, `${n} acknowledged writes`);
    for (let round = 1; round <= 4; round++) {
      await waitAcks(round * 20);
      const victim = Math.floor(random() * cluster.nodes.length);
      kills.push(victim);
      await cluster.nodes[victim]?.kill();
      await cluster.restart(victim);
    }
    await waitAcks(100);
    stop = true;
    await Promise.all(load);

    const truth = new Map((await alices[0]?.pullEverything() ?? []).map((doc) => [doc.conversationId, doc]));
    for (const id of acknowledged) expect(truth.has(id), id).toBe(true);
    for (const d of alices) {
      await d.waitFor(() => d.conversations.size === truth.size &&
        d.conversations.get(`${alice}|1|${bob}`)?.unreadCount === sent.get(bob), 30_000, `convergence after kills ${kills.join(',')}`);
      await d.idle();
      expect(d.outOfOrder).toEqual([]);
      for (const [id, doc] of truth) expect(d.conversations.get(id), id).toEqual(doc);
    }
    for (const d of bobs) {
      await d.waitFor(() => d.conversations.get(`${bob}|1|${alice}`)?.unreadCount === sent.get(alice), 30_000, 'bob sees every message once');
      expect(d.outOfOrder).toEqual([]);
    }
    expect(alices.reduce((n, d) => n + d.stats.failovers, 0) + bobs.reduce((n, d) => n + d.stats.failovers, 0)).toBeGreaterThan(0);
  });
});
