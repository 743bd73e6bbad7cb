/**
 * One convergence run: build the population, play the operations (user actions and faults)
 * against the cluster, heal, wait for quiescence, then check the invariants of issue 4:
 * - every device of an account equals the server's state for that account (all documents,
 *   tombstones included, read from the server by a protocol-level pull);
 * - every unread count equals the count derived from the messages and the read times;
 * - no read time ever moved back on any device;
 * - every write is present (each register's stamp on the server is at least the device's);
 * - every message exists exactly once.
 */
import {
  ClientEvent,
  ConversationType,
  conversationId,
  lastMessageTime,
  type ConversationDoc,
  type ConversationGroupDoc,
  type Message,
} from '@convsync/protocol';
import { peerOf, type Cluster } from './cluster.js';
import {
  byConversation,
  checkUnreadCounts,
  emptyResult,
  listAll,
  pick,
  playClusterOp,
  playPeerSend,
  retryPeerSends,
  settleTwice,
  startRun,
  withServerViews,
  type RunContext,
  type RunResult,
} from './run-steps.js';
import type { Op, Scenario } from './scenario.js';
import { WireClient } from './wire-client.js';
import { WireDevice } from './wire-device.js';

export type { RunResult } from './run-steps.js';

/** A write whose presence is checked after quiescence: the register and the stamp it got. */
interface WriteRecord {
  account: string;
  what: string;
  check: (conversations: Map<string, ConversationDoc>, groups: Map<string, ConversationGroupDoc>) => boolean;
}

interface Context extends RunContext<WireDevice> {
  writes: WriteRecord[];
  /** Each account's pushes as its devices sent them, for the replay fault. */
  captured: Map<string, unknown[]>;
}

export async function runScenario(cluster: Cluster, scenario: Scenario): Promise<RunResult> {
  const captured = new Map<string, unknown[]>();
  const ctx: Context = {
    ...(await startRun(cluster, scenario, (run, account, index) => new WireDevice({
      url: cluster.url,
      token: cluster.server.token(account),
      account,
      deviceId: `r${run}d${index}`,
      skewMs: scenario.skews[index] ?? 0,
      onPush: (payload) => {
        const list = captured.get(account) ?? [];
        list.push(payload);
        captured.set(account, list);
      },
    }))),
    writes: [],
    captured,
  };
  const failures: string[] = [];
  try {
    for (const op of scenario.ops) await play(ctx, op);
    await cluster.heal();
    for (const device of ctx.devices) if (!device.online) device.connect();
    await retryPeerSends(ctx);
    await settleTwice(ctx.devices);
    return { ...(await check(ctx, failures)), crashes: cluster.server.crashes - ctx.crashesBefore };
  } finally {
    for (const device of ctx.devices) device.close();
  }
}

async function play(ctx: Context, op: Op): Promise<void> {
  const { devices, cluster } = ctx;
  const device = 'd' in op ? pick(devices, op.d) : undefined;
  const a = 'd' in op ? (ctx.accountOfDevice[op.d % devices.length] as number) : 0;
  const ids = ctx.candidates[a] as string[];
  const account = ctx.accountIds[a] as string;
  const conversation = 'c' in op ? pick(ids, op.c) : '';
  const groupId = 'g' in op ? `r${ctx.run}g${a}x${op.g}` : '';
  const record = (what: string, check: WriteRecord['check']) => ctx.writes.push({ account, what, check });
  const stampAtLeast = (id: string, field: 'stickTop' | 'mute' | 'serverExtension' | 'deleted' | 'created', stamp: string) =>
    record(`${id}.${field} ≥ ${stamp}`, (docs) => (docs.get(id)?.clock[field] ?? '') >= stamp);
  const markRead = (d: WireDevice, id: string) => {
    const time = d.markRead(id);
    record(`${id}.lastReadTime ≥ ${time}`, (docs) => (docs.get(id)?.lastReadTime ?? -1) >= time);
  };
  switch (op.kind) {
    case 'markRead':
      markRead(device as WireDevice, conversation);
      return;
    case 'clearAll':
      for (const doc of (device as WireDevice).conversations()) if (!doc._deleted) markRead(device as WireDevice, doc.conversationId);
      return;
    case 'clearByType':
      for (const doc of (device as WireDevice).conversations()) if (!doc._deleted && doc.type === op.type) markRead(device as WireDevice, doc.conversationId);
      return;
    case 'clearByGroup':
      for (const doc of (device as WireDevice).conversations()) if (!doc._deleted && doc.groupIds.includes(groupId)) markRead(device as WireDevice, doc.conversationId);
      return;
    case 'clearByIds':
      for (const c of op.cs) markRead(device as WireDevice, pick(ids, c));
      return;
    case 'pin':
    case 'mute': {
      const field = op.kind === 'pin' ? 'stickTop' : 'mute';
      const doc = (device as WireDevice).editConversation(conversation, (d, stamp) => ({ ...d, [field]: op.on, clock: { ...d.clock, [field]: stamp } }));
      stampAtLeast(conversation, field, doc.clock[field]);
      return;
    }
    case 'extension': {
      const doc = (device as WireDevice).editConversation(conversation, (d, stamp) => ({ ...d, serverExtension: op.text, clock: { ...d.clock, serverExtension: stamp } }));
      stampAtLeast(conversation, 'serverExtension', doc.clock.serverExtension);
      return;
    }
    case 'create': {
      const doc = (device as WireDevice).editConversation(conversation, (d, stamp) => ({ ...d, clock: { ...d.clock, created: stamp } }));
      stampAtLeast(conversation, 'created', doc.clock.created);
      return;
    }
    case 'delete': {
      const doc = (device as WireDevice).editConversation(conversation, (d, stamp) => {
        const before = lastMessageTime(d.lastMessage);
        return {
          ...d,
          deletedBefore: Math.max(d.deletedBefore, before),
          clearedBefore: op.clear ? Math.max(d.clearedBefore, before) : d.clearedBefore,
          clock: { ...d.clock, deleted: stamp },
        };
      });
      stampAtLeast(conversation, 'deleted', doc.clock.deleted);
      return;
    }
    case 'groupCreate':
    case 'groupRename': {
      let stamp = '';
      (device as WireDevice).editGroup(groupId, (g, s) => {
        stamp = s;
        const now = Date.now();
        return g === undefined
          ? { groupId, name: op.name, serverExtension: '', createTime: now, updateTime: now, clock: { name: s, serverExtension: '', deleted: '' }, _deleted: false }
          : { ...g, name: op.name, updateTime: Math.max(g.updateTime, now), clock: { ...g.clock, name: s } };
      });
      record(`${groupId}.name ≥ ${stamp}`, (_c, groups) => (groups.get(groupId)?.clock.name ?? '') >= stamp);
      return;
    }
    case 'groupDelete': {
      const g = (device as WireDevice).groups().find((x) => x.groupId === groupId);
      if (g === undefined) return;
      let stamp = '';
      (device as WireDevice).editGroup(groupId, (x, s) => {
        stamp = s;
        return { ...(x as ConversationGroupDoc), _deleted: true, clock: { ...(x as ConversationGroupDoc).clock, deleted: s } };
      });
      record(`${groupId}.deleted ≥ ${stamp}`, (_c, groups) => (groups.get(groupId)?.clock.deleted ?? '') >= stamp);
      return;
    }
    case 'groupAdd':
    case 'groupRemove': {
      const member = op.kind === 'groupAdd';
      if (member && !(device as WireDevice).groups().some((x) => x.groupId === groupId && !x._deleted)) return;
      const doc = (device as WireDevice).editConversation(conversation, (d, stamp) => ({
        ...d,
        groups: [...d.groups.filter((r) => r.groupId !== groupId), { groupId, member, stamp }],
      }));
      const stamp = doc.groups.find((r) => r.groupId === groupId)?.stamp ?? '';
      record(`${conversation}.groups[${groupId}] ≥ ${stamp}`, (docs) => (docs.get(conversation)?.groups.find((r) => r.groupId === groupId)?.stamp ?? '') >= stamp);
      return;
    }
    case 'send': {
      const clientMessageId = `r${ctx.run}m${ctx.counter++}`;
      (device as WireDevice).send({ clientMessageId, conversationId: conversation, text: `text ${clientMessageId}` });
      return;
    }
    case 'peerSend':
      await playPeerSend(ctx, op, (clientMessageId) => `peer ${clientMessageId}`);
      return;
    case 'offline':
      (device as WireDevice).disconnect();
      return;
    case 'online':
      (device as WireDevice).connect();
      return;
    case 'proxy':
    case 'kill':
    case 'restart':
    case 'crashAt':
    case 'flow':
      await playClusterOp(cluster, op);
      return;
    case 'replay': {
      // Captured pushes of one account, duplicated and out of order, from a protocol-level client.
      if (!cluster.server.running) return;
      const target = pick(ctx.accountIds, op.a);
      const captured = [...(ctx.captured.get(target) ?? [])].slice(-6);
      if (captured.length === 0) return;
      const replayer = await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(target) }).catch(() => undefined);
      if (replayer === undefined) return;
      try {
        const order = op.reverse ? [...captured].reverse() : [...captured, ...captured];
        await Promise.all(order.map((payload) => replayer.request(ClientEvent.PUSH, payload, 3000)));
      } finally {
        replayer.close();
      }
      return;
    }
  }
}

async function check(ctx: Context, failures: string[]): Promise<Omit<RunResult, 'crashes'>> {
  const result = emptyResult(ctx, failures);
  // Every message the system acknowledged, by the conversation it belongs to.
  const messages = [...ctx.devices.flatMap((d) => d.acked), ...ctx.peerMessages];
  const byKey = byConversation(messages);
  for (const device of ctx.devices) {
    for (const refusal of device.refused) failures.push(`${device.deviceId}: message ${refusal.request.clientMessageId} refused with ${refusal.code}`);
  }

  await withServerViews(ctx, async (views) => {
    for (const [a, account] of ctx.accountIds.entries()) {
      const view = views.get(account) as WireClient;
      const serverDocs = new Map((await view.pullAll('conversations')).map((d) => [d.conversationId, d]));
      const serverGroups = new Map((await view.pullAll('conversationGroups')).map((g) => [g.groupId, g]));
      // 1. Convergence: each device of the account holds exactly the server's documents.
      for (const [i, device] of ctx.devices.entries()) {
        if (ctx.accountOfDevice[i] !== a) continue;
        const mine = new Map(device.conversations().map((d) => [d.conversationId, d]));
        const groups = new Map(device.groups().map((g) => [g.groupId, g]));
        const diffs = [
          ...diffMaps(serverDocs, mine).map((id) => `conversation ${id}`),
          ...diffMaps(serverGroups, groups).map((id) => `group ${id}`),
        ];
        if (diffs.length > 0) {
          result.divergent++;
          failures.push(`${device.deviceId} diverges from the server on ${diffs.slice(0, 5).join(', ')}`);
        }
        result.readTimeRegressions += device.readTimeRegressions.length;
        for (const r of device.readTimeRegressions) failures.push(`read time moved back: ${r}`);
      }
      // 2. Every write is present.
      for (const write of ctx.writes.filter((w) => w.account === account)) {
        result.writesChecked++;
        if (!write.check(serverDocs, serverGroups)) {
          result.lost++;
          failures.push(`lost write of ${account}: ${write.what}`);
        }
      }
      // 3. Unread counts derive from the messages and the read times.
      checkUnreadCounts(result, account, serverDocs.values(), byKey);
    }
    // 4. Every acknowledged message exists exactly once (read by a member that cleared nothing).
    for (const [key, acked] of byKey) {
      const sample = acked[0] as Message;
      const members = sample.conversationType === ConversationType.P2P ? [sample.senderId, sample.receiverId] : [...ctx.accountIds, peerOf(ctx.run)];
      let listed: Message[] | undefined;
      for (const member of members) {
        const view = views.get(member);
        if (view === undefined) continue;
        const id = sample.conversationType === ConversationType.P2P
          ? conversationId(member, ConversationType.P2P, member === sample.senderId ? sample.receiverId : sample.senderId)
          : conversationId(member, sample.conversationType, sample.receiverId);
        const docs = await view.pullAll('conversations');
        if ((docs.find((d) => d.conversationId === id)?.clearedBefore ?? 0) > 0) continue;
        listed = await listAll(view, id);
        break;
      }
      if (listed === undefined) continue;
      const counts = new Map<string, number>();
      for (const m of listed) counts.set(`${m.senderId}/${m.messageClientId}`, (counts.get(`${m.senderId}/${m.messageClientId}`) ?? 0) + 1);
      for (const m of acked) {
        result.messagesChecked++;
        const n = counts.get(`${m.senderId}/${m.messageClientId}`) ?? 0;
        if (n === 0) {
          result.lost++;
          failures.push(`lost message ${m.messageClientId} in ${key}`);
        } else if (n > 1) {
          result.duplicated++;
          failures.push(`message ${m.messageClientId} stored ${n} times in ${key}`);
        }
      }
    }
  });
  return result;
}

function diffMaps<T>(expected: Map<string, T>, actual: Map<string, T>): string[] {
  const ids = new Set([...expected.keys(), ...actual.keys()]);
  return [...ids].filter((id) => JSON.stringify(expected.get(id)) !== JSON.stringify(actual.get(id)));
}
