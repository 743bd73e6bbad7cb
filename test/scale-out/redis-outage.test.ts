/**
 * Redis goes away and comes back (a throwaway redis-server of this test, never the machine's
 * shared one): changes committed meanwhile never crossed processes, yet every device catches up
 * once Redis is back — without any further write to reveal the gap — and streams flow again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, ThrowawayRedis, requireServices, runId } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

describe('a Redis restart under two server processes', () => {
  let redis: ThrowawayRedis;
  let cluster: Cluster;
  const devices: WireDevice[] = [];
  const suffix = runId('').replace(/^_/, '');

  beforeAll(async () => {
    await requireServices();
    redis = await ThrowawayRedis.start();
    cluster = await new Cluster({ processes: 2, redisUrl: redis.url }).start();
  });

  afterEach(() => {
    for (const device of devices.splice(0)) device.close();
  });

  afterAll(async () => {
    // Unset when beforeAll failed (a service missing): there is nothing to close then.
    await cluster?.close();
    await redis?.stop();
  });

  it('brings devices on the other process up to date after Redis returns, with no further write', async () => {
    const account = `outage_${suffix}`;
    const token = await cluster.token(account);
    const left = await WireDevice.open({ accountId: account, deviceId: 'left', token, urls: cluster.urls, start: 0 });
    const right = await WireDevice.open({ accountId: account, deviceId: 'right', token, urls: cluster.urls, start: 1 });
    devices.push(left, right);
    await left.push([newConversation(`${account}|1|before`)]);
    await right.waitFor(() => right.conversations.has(`${account}|1|before`), 30_000, 'the change before the outage');

    await redis.stop();
    // Written while Redis is down: committed in PostgreSQL, streamed only to the writer's own process.
    await left.push([newConversation(`${account}|1|during`)]);
    await cluster.backend.sendMessage({ from: `friend_${suffix}`, conversationType: 1, targetId: account, text: 'while Redis was down' });
    await left.waitFor(() => left.conversations.has(`${account}|1|during`), 30_000, 'the writer sees its own change');
    expect(right.conversations.has(`${account}|1|during`)).toBe(false);
    expect(right.stats.failovers).toBe(0);

    await redis.restart();
    await right.waitFor(() => right.conversations.has(`${account}|1|during`) &&
      right.conversations.get(`${account}|1|friend_${suffix}`)?.unreadCount === 1, 30_000, 'catching up after Redis returned');
    await left.waitFor(() => left.conversations.get(`${account}|1|friend_${suffix}`)?.unreadCount === 1, 30_000, 'the backend message');
    // Caught up by a pull (a nudge), not by a reconnect.
    expect(right.stats.failovers).toBe(0);
    // Both repairs ran: the writer's process re-announced the account it could not publish for,
    // and each process nudged its own devices once its subscription was back.
    // A JSON line per log entry, fields in any order: the repair's line names at least one account.
    const repaired = (log: string, msg: string) => log.split('\n').some((line) => line.includes(`"msg":"${msg}`) && /"accounts":[1-9]/.test(line));
    await right.waitFor(() => repaired(cluster.nodes[0]?.stderr ?? '', 'redis publishing back'), 30_000, 'the publishing repair');
    await right.waitFor(() => repaired(cluster.nodes[1]?.stderr ?? '', 'redis subscription back'), 30_000, 'the subscription repair');

    // And the stream crosses processes again.
    const streamed = right.stats.streamsApplied;
    await left.push([newConversation(`${account}|1|after`)]);
    await right.waitFor(() => right.conversations.has(`${account}|1|after`), 30_000, 'the change after the outage');
    expect(right.stats.streamsApplied).toBeGreaterThan(streamed);
    // The writer's own copy arrives by its stream, which may trail the push's acknowledgement.
    await left.waitFor(() => left.conversations.has(`${account}|1|after`), 30_000, 'the writer\'s own stream');
    expect([...right.conversations.keys()].sort()).toEqual([...left.conversations.keys()].sort());
  });

  it('a device that joins while Redis is down does not crash its process, and its room streams again once Redis is back', async () => {
    const account = `joined_${suffix}`;
    const token = await cluster.token(account);
    const writer = await WireDevice.open({ accountId: account, deviceId: 'writer', token, urls: cluster.urls, start: 0 });
    devices.push(writer);
    await redis.stop();
    // Joining the account room subscribes its channel: that command fails while Redis is away.
    const late = await WireDevice.open({ accountId: account, deviceId: 'late', token, urls: cluster.urls, start: 1 });
    devices.push(late);
    const node = cluster.nodes[1];
    await late.waitFor(() => (node?.stderr ?? '').includes('"msg":"redis subscribe failed'), 30_000, 'the failed subscription');
    expect(node?.alive).toBe(true);

    await redis.restart();
    await late.waitFor(() => (node?.stderr ?? '').includes('"msg":"redis subscription back'), 30_000, 'the subscription back');
    const streamed = late.stats.streamsApplied;
    await writer.push([newConversation(`${account}|1|after`)]);
    await late.waitFor(() => late.conversations.has(`${account}|1|after`), 30_000, 'the change after the outage');
    // By the room's stream, resubscribed — not by a reconnect.
    expect(late.stats.streamsApplied).toBeGreaterThan(streamed);
    expect(late.stats.failovers).toBe(0);
    expect(node?.alive).toBe(true);
  });
});
