/**
 * Three server processes on one PostgreSQL and one Redis: devices of one account on different
 * processes see each other's changes; a team message reaches members on every process; concurrent
 * writers on several processes never make a reader skip a change; a process SIGKILLed mid-load
 * loses nothing acknowledged, and its devices move to another process.
 */
import { ConversationType } from '@convsync/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, requireServices, runId } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

describe('three server processes on PostgreSQL + Redis', () => {
  const cluster = new Cluster({ processes: 3 });
  const devices: WireDevice[] = [];
  const suffix = runId('').replace(/^_/, '');

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

  /** A device of `account` connected first to process `node` (failing over to the next ones). */
  async function device(account: string, deviceId: string, node: number): Promise<WireDevice> {
    const opened = await WireDevice.open({ accountId: account, deviceId, token: await cluster.token(account), urls: cluster.urls, start: node });
    devices.push(opened);
    return opened;
  }

  it('shows a change made on one process to the same account\'s devices on the other two', async () => {
    const alice = `alice_${suffix}`;
    const [phone, laptop, tablet] = await Promise.all([device(alice, 'phone', 0), device(alice, 'laptop', 1), device(alice, 'tablet', 2)]);
    expect(new Set([phone.url, laptop.url, tablet.url]).size).toBe(3);
    await phone.push([newConversation(`${alice}|1|bob`)]);
    await laptop.push([newConversation(`${alice}|1|carol`)]);
    for (const d of [phone, laptop, tablet]) {
      await d.waitFor(() => d.conversations.has(`${alice}|1|bob`) && d.conversations.has(`${alice}|1|carol`), 30_000, 'both conversations');
    }
    // The stream carried them: no device needed more than its initial pulls.
    expect(tablet.stats.streamsApplied).toBeGreaterThanOrEqual(2);
    const bob = `bob_${suffix}`;
    const bobPhone = await device(bob, 'phone', 2);
    await bobPhone.send(`${bob}|1|${alice}`, 'hello from process 3');
    for (const d of [phone, laptop, tablet]) {
      await d.waitFor(() => d.conversations.get(`${alice}|1|${bob}`)?.unreadCount === 1, 30_000, 'the message from bob');
    }
  });

  it('delivers a team message to members connected to every process', async () => {
    const members = [0, 1, 2, 3, 4, 5].map((i) => `m${i}_${suffix}`);
    const team = `team_${suffix}`;
    await cluster.backend.createTeam({ teamId: team, name: 'Scale', memberIds: members });
    const memberDevices = await Promise.all(members.map((member, i) => device(member, 'd1', i % 3)));
    const [sender] = memberDevices;
    await sender?.send(`${members[0]}|${ConversationType.TEAM}|${team}`, 'to everyone');
    await cluster.backend.sendMessage({ from: members[5] as string, conversationType: ConversationType.TEAM, targetId: team, text: 'from the backend' });
    for (const [i, d] of memberDevices.entries()) {
      const expected = i === 0 || i === 5 ? 1 : 2;
      await d.waitFor(() => d.conversations.get(`${d.accountId}|${ConversationType.TEAM}|${team}`)?.unreadCount === expected, 10_000,
        `both team messages (unread ${expected})`);
      expect(d.conversations.get(`${d.accountId}|${ConversationType.TEAM}|${team}`)?.lastMessage?.text).toBe('from the backend');
    }
  });

  it('never lets a reader skip a change while writers on every process write the same account', async () => {
    const account = `writer_${suffix}`;
    const readers = await Promise.all([0, 1, 2].map((node) => device(account, `reader${node}`, node)));
    const writers = await Promise.all([0, 1, 2].map((node) => device(account, `writer${node}`, node)));
    const perWriter = 40;
    await Promise.all(writers.map(async (writer, w) => {
      for (let i = 0; i < perWriter; i++) {
        // Two documents per push now and then: a commit may carry several positions.
        const docs = [newConversation(`${account}|1|w${w}_${i}`)];
        if (i % 5 === 0) docs.push(newConversation(`${account}|1|w${w}_${i}b`));
        await writer.push(docs);
      }
    }));
    const total = 3 * (perWriter + perWriter / 5);
    for (const reader of [...readers, ...writers]) {
      await reader.waitFor(() => reader.position.conversations === total, 30_000, `position ${total}`);
      await reader.idle();
      // Each document was written once, so a reader that skipped nothing applied exactly 1..total, in order.
      expect(reader.appliedRevs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(reader.outOfOrder).toEqual([]);
      expect(reader.conversations.size).toBe(total);
    }
  });

  it('moves the devices of a SIGKILLed process to another one and loses nothing acknowledged', async () => {
    const account = `load_${suffix}`;
    const peer = `peer_${suffix}`;
    const victim = cluster.nodes[2];
    const victimUrl = victim?.url;
    const observer = await device(account, 'observer', 0);
    const peerDevice = await device(peer, 'peer', 1);
    const loaded = await Promise.all([0, 1, 2].map((i) => device(account, `moving${i}`, 2)));
    expect(loaded.every((d) => d.url === victimUrl)).toBe(true);
    const acknowledged: string[] = [];
    let sends = 0;
    let killed = false;
    const rounds = 30;
    await Promise.all([
      ...loaded.map(async (d, i) => {
        for (let round = 0; round < rounds; round++) {
          const id = `${account}|1|k${i}_${round}`;
          await d.push([newConversation(id)]);
          acknowledged.push(id);
          await d.send(`${account}|1|${peer}`, `round ${round} from ${i}`, `send_${i}_${round}`);
          sends++;
        }
      }),
      (async () => {
        // Mid-load: once a third of the work is acknowledged, the process dies without a goodbye.
        while (acknowledged.length < rounds) await new Promise((done) => setTimeout(done, 5));
        await victim?.kill();
        killed = true;
      })(),
    ]);
    expect(killed).toBe(true);
    expect(acknowledged).toHaveLength(3 * rounds);
    for (const d of loaded) {
      expect(d.stats.failovers).toBeGreaterThanOrEqual(1);
      expect(d.url).not.toBe(victimUrl);
    }
    // Every acknowledged write is in the database, and reaches every device of the account.
    const everything = new Map((await observer.pullEverything()).map((doc) => [doc.conversationId, doc]));
    for (const id of acknowledged) expect(everything.has(id), id).toBe(true);
    for (const d of [observer, ...loaded]) {
      await d.waitFor(() => acknowledged.every((id) => d.conversations.has(id)), 30_000, 'every acknowledged conversation');
    }
    // Sends were retried across the crash with their client ids: each landed exactly once.
    const fromAccount = `${peer}|1|${account}`;
    await peerDevice.waitFor(() => peerDevice.conversations.get(fromAccount)?.unreadCount === sends, 30_000, `unread ${sends}`);
    expect(sends).toBe(3 * rounds);
  });
});
