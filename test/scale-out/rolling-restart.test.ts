/**
 * A rolling restart without a stampede: three server processes on PostgreSQL + Redis, 1,000
 * protocol-level devices, and each process in turn stopped with SIGTERM (it drains: refuses new
 * handshakes, asks its devices to move over the drain window, finishes what is in flight, exits 0)
 * and started again, while writers keep pushing. Afterwards no acknowledged write is lost, every
 * device holds exactly what the server has for its account, and the connects per second that each
 * surviving process took while another drained stay under the stated bound:
 *
 *   peak connects/s on a survivor ≤ 2 × (devices on the draining process) / (window in s) + 10
 *
 * With the 4-s window that is half the moved devices (+10) in any second: a stampede — every moved
 * device back within the first second, as after a crash — is about all of them. The factor 2
 * leaves room for the uneven draws of 1-s buckets and for timers that fire in clumps on a loaded
 * machine (measured up to 1.6× the mean with a load average of 20 on two cores). Prints the peak rates and the time until every
 * device was synced after the writes stopped, and its progress on stderr (`[rolling] …`).
 * CONVSYNC_ROLLING_DEVICES sets another device count (e.g. 200 for a quick look).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, Collection, type Answer, type ConversationDoc, type PullResponse } from '@convsync/protocol';
import { Cluster, requireServices, runId } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

const DEVICES = Number(process.env.CONVSYNC_ROLLING_DEVICES ?? 1000);
const DEVICES_PER_ACCOUNT = 4;
const WINDOW_MS = 4000;
const WRITERS = 20;

/** Connects per 1-s bucket on `url` between `from` and `to`, across every device. */
function peakConnectsPerSecond(devices: readonly WireDevice[], url: string, from: number, to: number): number {
  const buckets = new Map<number, number>();
  for (const device of devices) {
    device.urlsUsed.forEach((used, i) => {
      const at = device.connectTimes[i] as number;
      if (used !== url || at < from || at > to) return;
      const bucket = Math.floor((at - from) / 1000);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    });
  }
  return Math.max(0, ...buckets.values());
}

describe('rolling restart of three processes with 1,000 devices', () => {
  // Pool 6 (not the suite's 4): 1,000 devices resyncing on one process queue their pulls on it.
  const cluster = new Cluster({ processes: 3, drainWindowMs: WINDOW_MS, pool: 6 });
  const devices: WireDevice[] = [];
  const suffix = runId('').replace(/^_/, '');

  beforeAll(async () => {
    await requireServices();
    await cluster.start();
  });

  afterAll(async () => {
    for (const device of devices.splice(0)) device.close();
    await cluster.close();
  });

  // ~20-40 s on an idle machine; the timeout leaves room for a loaded CI runner.
  it('loses no acknowledged write, ends with every device synced, and keeps the survivors\' connect rate under the bound', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const progress = (what: string) => process.stderr.write(`[rolling] ${Date.now() - t0} ms: ${what}\n`);
    const accounts = Array.from({ length: DEVICES / DEVICES_PER_ACCOUNT }, (_, i) => `roll${i}_${suffix}`);
    const tokens = await Promise.all(accounts.map((account) => cluster.token(account)));
    // Open in batches: the start is not what this test measures.
    for (let start = 0; start < DEVICES; start += 100) {
      devices.push(...(await Promise.all(Array.from({ length: 100 }, (_, k) => {
        const i = start + k;
        const a = Math.floor(i / DEVICES_PER_ACCOUNT);
        return WireDevice.open({ accountId: accounts[a] as string, deviceId: `d${i % DEVICES_PER_ACCOUNT}`, token: tokens[a] as string, urls: cluster.urls, start: i % 3 });
      }))));
    }

    progress('opened');
    // Writers: one device on each of WRITERS accounts pushes new conversations throughout.
    const acknowledged = new Map<string, string[]>();
    let writing = true;
    const writers = devices.filter((_, i) => i % DEVICES_PER_ACCOUNT === 0).slice(0, WRITERS).map(async (writer) => {
      const ids: string[] = [];
      acknowledged.set(writer.accountId, ids);
      for (let n = 0; writing; n++) {
        const id = `${writer.accountId}|1|peer${n}`;
        await writer.push([newConversation(id)]);
        ids.push(id);
        await new Promise((done) => setTimeout(done, 50));
      }
    });

    const rolled: { index: number; moved: number; tookMs: number; peaks: number[]; bound: number }[] = [];
    const rollStarted = Date.now();
    for (let index = 0; index < 3; index++) {
      const url = cluster.urls[index] as string;
      const moved = devices.filter((device) => device.url === url).length;
      const old = cluster.nodes[index];
      const from = Date.now();
      await cluster.restart(index);
      const to = Date.now();
      // It drained and exited 0 on SIGTERM, not killed after the stop's timeout.
      expect(old?.child.exitCode).toBe(0);
      const survivors = cluster.urls.filter((_, j) => j !== index);
      const peaks = survivors.map((survivor) => peakConnectsPerSecond(devices, survivor, from, to));
      rolled.push({ index, moved, tookMs: to - from, peaks, bound: (2 * moved) / (WINDOW_MS / 1000) + 10 });
      // The restarted process is back before the next one drains (its port, the devices' URL list).
      progress(`restarted ${index}: moved ${moved}, peaks ${peaks.join('/')}`);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      await ready.text();
    }
    const rollMs = Date.now() - rollStarted;
    writing = false;
    progress(`stopping writes: ${[...acknowledged.values()].reduce((sum, ids) => sum + ids.length, 0)} acknowledged`);
    await Promise.all(writers);
    const writesStopped = Date.now();
    progress('writes stopped');

    // What the server has, per account, read by the backend (a fresh replica's view).
    const truth = new Map<string, Map<string, number>>();
    for (const account of accounts) {
      const session = await cluster.backend.connectInProcess(await cluster.token(account));
      const docs = new Map<string, number>();
      for (let seq = 0; ;) {
        const page = (await session.request(ClientEvent.PULL, { collection: Collection.CONVERSATIONS, checkpoint: { seq }, batchSize: 500 })) as Answer<PullResponse>;
        if (!page.ok) throw new Error(`backend pull refused: ${page.error.code}`);
        for (const doc of page.documents as ConversationDoc[]) docs.set(doc.conversationId, doc.serverRev);
        seq = page.checkpoint.seq;
        if (!page.hasMore) break;
      }
      session.close();
      truth.set(account, docs);
    }

    progress('truth read');
    // No acknowledged write lost.
    for (const [account, ids] of acknowledged) {
      const stored = truth.get(account) ?? new Map();
      expect(ids.filter((id) => !stored.has(id)), account).toEqual([]);
    }
    expect([...acknowledged.values()].reduce((sum, ids) => sum + ids.length, 0)).toBeGreaterThan(WRITERS);

    // Every device ends synced: it holds each document of its account at the server's revision.
    const inSync = (device: WireDevice): boolean => {
      const expected = truth.get(device.accountId) ?? new Map<string, number>();
      if (device.conversations.size !== expected.size) return false;
      for (const [id, rev] of expected) if (device.conversations.get(id)?.serverRev !== rev) return false;
      return true;
    };
    const deadline = Date.now() + 30_000;
    while (!devices.every(inSync)) {
      if (Date.now() > deadline) {
        const behind = devices.filter((device) => !inSync(device));
        throw new Error(`${behind.length} devices not synced, e.g. ${behind[0]?.options.deviceId} of ${behind[0]?.accountId}`);
      }
      await new Promise((done) => setTimeout(done, 50));
    }
    const syncedMs = Date.now() - writesStopped;

    for (const node of cluster.nodes) expect(node.alive).toBe(true);
    expect(devices.every((device) => device.outOfOrder.length === 0)).toBe(true);
    const movedDevices = devices.filter((device) => device.stats.moves > 0).length;
    console.info(`rolling restart: ${DEVICES} devices, window ${WINDOW_MS} ms, took ${rollMs} ms; all synced ${syncedMs} ms after writes stopped; ` +
      `${movedDevices} devices were asked to move; per restart (moved, peak connects/s on each survivor vs bound): ` +
      rolled.map((r) => `#${r.index} moved ${r.moved} in ${r.tookMs} ms, peaks ${r.peaks.join('/')} ≤ ${r.bound.toFixed(0)}`).join('; '));
    for (const r of rolled) {
      expect(r.moved).toBeGreaterThan(0);
      for (const peak of r.peaks) expect(peak).toBeLessThanOrEqual(r.bound);
    }
  });
});
