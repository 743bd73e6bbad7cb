/**
 * The convergence run with real engines: the same scenarios as `run.ts` (operations and faults),
 * played through the SDK of devices in worker threads, then checked after healing:
 * - every device's conversation list and groups equal the server's visible documents;
 * - every unread count (server and device) equals the count derived from the messages and read
 *   times; no read time moved back on any device at any moment (events and list emissions);
 * - every read time a device produced is on the server; every message a device saw succeed, and
 *   every peer message, exists exactly once; no message is left sending or failed.
 */
import { ConversationType, type ConversationDoc, type Message } from '@convsync/protocol';
import { peerOf, type Cluster } from './cluster.js';
import { EngineCallError, EngineDevice } from './engine-device.js';
import type { ConversationView, EngineSnapshot, GroupView } from './engine-rpc.js';
import { byConversation, checkUnreadCounts, emptyResult, listAll, pick, playClusterOp, playPeerSend, retryPeerSends, settleTwice, startRun, withServerViews, type RunContext, type RunResult } from './run-steps.js';
import type { Op, Scenario } from './scenario.js';
import type { WireClient } from './wire-client.js';

/** How long a settled device may take to show the server's state before it counts as divergent. */
const CONVERGE_GRACE_MS = 20_000;

/** Refusals a random operation may legitimately meet (absent conversation, limits, …). */
const EXPECTED_CODES = new Set([110404, 116404, 110303, 110304, 116435, 116437, 191004]);

interface Context extends RunContext<EngineDevice> {
  readTimes: { account: string; conversationId: string; readTime: number }[];
  failures: string[];
}

export interface EngineRunOptions {
  /** Engines per device sharing its replica, as browser tabs (see EngineDeviceInit.tabs). */
  tabs?: number;
}

export async function runEngineScenario(cluster: Cluster, scenario: Scenario, options: EngineRunOptions = {}): Promise<RunResult> {
  const ctx: Context = {
    ...(await startRun(cluster, scenario, (run, account, index) => new EngineDevice({
      url: cluster.url,
      token: cluster.server.token(account),
      deviceId: `r${run}e${index}`,
      storage: scenario.storages[index] ?? 'memory',
      skewMs: scenario.skews[index] ?? 0,
      ...(options.tabs === undefined ? {} : { tabs: options.tabs }),
    }))),
    readTimes: [],
    failures: [],
  };
  try {
    await Promise.all(ctx.devices.map((d) => d.ready));
    for (const op of scenario.ops) await play(ctx, op);
    await cluster.heal();
    await retryPeerSends(ctx);
    for (const device of ctx.devices) await device.call({ kind: 'connect' });
    const snapshots = await settleTwice(ctx.devices);
    return { ...(await check(ctx, snapshots)), crashes: cluster.server.crashes - ctx.crashesBefore };
  } finally {
    await Promise.all(ctx.devices.map((d) => d.close()));
  }
}

async function play(ctx: Context, op: Op): Promise<void> {
  if (!('d' in op)) {
    await playFault(ctx, op);
    return;
  }
  const device = pick(ctx.devices, op.d);
  const a = ctx.accountOfDevice[op.d % ctx.devices.length] as number;
  const account = ctx.accountIds[a] as string;
  const ids = ctx.candidates[a] as string[];
  const conversation = 'c' in op ? pick(ids, op.c) : '';
  const attempt = async (command: Parameters<EngineDevice['call']>[0]): Promise<unknown> => {
    try {
      return await device.call(command);
    } catch (error) {
      if (error instanceof EngineCallError && error.code !== null && EXPECTED_CODES.has(error.code)) return undefined;
      ctx.failures.push(`${device.deviceId} ${command.kind}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  switch (op.kind) {
    case 'markRead': {
      const readTime = await attempt({ kind: 'markRead', conversationId: conversation });
      if (typeof readTime === 'number') ctx.readTimes.push({ account, conversationId: conversation, readTime });
      return;
    }
    case 'clearAll':
      await attempt({ kind: 'clearAll' });
      return;
    case 'clearByType':
      await attempt({ kind: 'clearByTypes', types: [op.type === 1 ? ConversationType.P2P : ConversationType.TEAM] });
      return;
    case 'clearByGroup':
      await attempt({ kind: 'clearByGroup', groupIndex: op.g });
      return;
    case 'clearByIds':
      await attempt({ kind: 'clearByIds', ids: op.cs.map((c) => pick(ids, c)) });
      return;
    case 'pin':
      await attempt({ kind: 'pin', conversationId: conversation, on: op.on });
      return;
    case 'mute':
      await attempt({ kind: 'mute', conversationId: conversation, on: op.on });
      return;
    case 'extension':
      await attempt({ kind: 'extension', conversationId: conversation, text: op.text });
      return;
    case 'create':
      await attempt({ kind: 'create', conversationId: conversation });
      return;
    case 'delete':
      await attempt({ kind: 'delete', conversationId: conversation, clear: op.clear });
      return;
    case 'groupCreate':
      await attempt({ kind: 'groupCreate', name: op.name });
      return;
    case 'groupRename':
      await attempt({ kind: 'groupRename', groupIndex: op.g, name: op.name });
      return;
    case 'groupDelete':
      await attempt({ kind: 'groupDelete', groupIndex: op.g });
      return;
    case 'groupAdd':
      await attempt({ kind: 'groupAdd', groupIndex: op.g, conversationId: conversation });
      return;
    case 'groupRemove':
      await attempt({ kind: 'groupRemove', groupIndex: op.g, conversationId: conversation });
      return;
    case 'send':
      await attempt({ kind: 'send', conversationId: conversation, text: `text ${ctx.counter++}` });
      return;
    case 'offline':
      await attempt({ kind: 'disconnect' });
      return;
    case 'online':
      await attempt({ kind: 'connect' });
      return;
  }
}

async function playFault(ctx: Context, op: Exclude<Op, { d: number }>): Promise<void> {
  switch (op.kind) {
    case 'peerSend':
      await playPeerSend(ctx, op, () => 'peer');
      return;
    case 'replay':
      // Push replays are the protocol-level runs' business; engine pushes are not captured.
      return;
    default:
      await playClusterOp(ctx.cluster, op);
  }
}

function viewOf(doc: ConversationDoc): ConversationView {
  return {
    conversationId: doc.conversationId,
    stickTop: doc.stickTop,
    mute: doc.mute,
    serverExtension: doc.serverExtension,
    groupIds: [...doc.groupIds].sort(),
    lastReadTime: doc.lastReadTime,
    unreadCount: doc.unreadCount,
    lastMessageServerId: doc.lastMessage?.messageRefer.messageServerId ?? null,
  };
}

async function check(ctx: Context, snapshots: EngineSnapshot[]): Promise<Omit<RunResult, 'crashes'>> {
  const { failures } = ctx;
  const result = emptyResult(ctx, failures);
  await withServerViews(ctx, async (views) => {
    const messages: Message[] = [...ctx.peerMessages];
    for (const [a, account] of ctx.accountIds.entries()) {
      const view = views.get(account) as WireClient;
      const docs = await view.pullAll('conversations');
      const serverGroups = (await view.pullAll('conversationGroups')).filter((g) => !g._deleted)
        .map((g): GroupView => ({ groupId: g.groupId, name: g.name, serverExtension: g.serverExtension }))
        .sort((x, y) => (x.groupId < y.groupId ? -1 : 1));
      const visible = docs.filter((d) => !d._deleted).map(viewOf).sort((x, y) => (x.conversationId < y.conversationId ? -1 : 1));
      for (const [i, first] of snapshots.entries()) {
        if (ctx.accountOfDevice[i] !== a) continue;
        const device = ctx.devices[i] as EngineDevice;
        const deviceId = device.deviceId;
        const same = (s: EngineSnapshot) => JSON.stringify(s.conversations) === JSON.stringify(visible) && JSON.stringify(s.groups) === JSON.stringify(serverGroups);
        // 'synced' is the engine's own word: give a late stream event time to land before
        // calling a difference divergence.
        let snapshot = first;
        const deadline = Date.now() + CONVERGE_GRACE_MS;
        while (!same(snapshot) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          snapshot = await device.snapshot();
        }
        snapshots[i] = snapshot;
        if (!same(snapshot)) {
          result.divergent++;
          const replica = await device.byIds(visible.map((v) => v.conversationId)).catch((error: unknown) => String(error));
          failures.push(`${deviceId} diverges from the server:\n  device ${JSON.stringify(snapshot.conversations)}\n  server ${JSON.stringify(visible)}\n  device replica ${JSON.stringify(replica)}\n  device groups ${JSON.stringify(snapshot.groups)}\n  server groups ${JSON.stringify(serverGroups)}`);
        }
        result.readTimeRegressions += snapshot.readTimeRegressions.length;
        failures.push(...snapshot.readTimeRegressions.map((r) => `read time moved back: ${r}`));
        for (const sent of snapshot.sent) {
          if (sent.state !== 'succeeded') failures.push(`${deviceId}: message ${sent.clientMessageId} ended ${sent.state}`);
        }
      }
      for (const read of ctx.readTimes.filter((r) => r.account === account)) {
        result.writesChecked++;
        const doc = docs.find((d) => d.conversationId === read.conversationId);
        if (doc === undefined || Math.max(doc.lastReadTime, doc.deletedBefore) < read.readTime) {
          result.lost++;
          failures.push(`lost read time of ${read.conversationId}: ${read.readTime}`);
        }
      }
      // Every message in the account's histories (any sender): a sender that cleared its own
      // history still has its messages counted through the receiver's (soak seed 999473579).
      for (const doc of docs) {
        if (doc.clearedBefore > 0) continue;
        messages.push(...(await listAll(view, doc.conversationId)));
      }
    }
    // A message listed from several accounts' histories counts once in its conversation.
    const byKey = new Map([...byConversation(messages)].map(([key, listed]) => [key, distinct(listed)]));
    for (const account of ctx.accountIds) {
      checkUnreadCounts(result, account, await (views.get(account) as WireClient).pullAll('conversations'), byKey);
    }
    // Peer messages exactly once, read by the peer (who never clears).
    const peer = views.get(peerOf(ctx.run)) as WireClient;
    const peerIds = new Set(ctx.peerMessages.map((m) => m.conversationId));
    for (const id of peerIds) {
      const listed = await listAll(peer, id);
      for (const m of ctx.peerMessages.filter((x) => x.conversationId === id)) {
        result.messagesChecked++;
        const n = listed.filter((x) => x.messageClientId === m.messageClientId).length;
        if (n === 0) result.lost++;
        if (n > 1) result.duplicated++;
        if (n !== 1) failures.push(`peer message ${m.messageClientId} stored ${n} times`);
      }
    }
    // Device messages: every one that succeeded is stored exactly once.
    for (const [i, snapshot] of snapshots.entries()) {
      const account = ctx.accountIds[ctx.accountOfDevice[i] as number] as string;
      const mine = messages.filter((m) => m.senderId === account);
      for (const sent of snapshot.sent.filter((s) => s.state === 'succeeded')) {
        result.messagesChecked++;
        const n = new Set(mine.filter((m) => m.messageClientId === sent.clientMessageId).map((m) => m.messageServerId)).size;
        if (n === 0) {
          // Its conversation may have been deleted with its history; the peer's view decides then.
          continue;
        }
        if (n > 1) {
          result.duplicated++;
          failures.push(`message ${sent.clientMessageId} stored ${n} times`);
        }
      }
    }
  });
  return result;
}

/** The messages without repeats of one sender's client message id, first occurrences kept. */
function distinct(messages: readonly Message[]): Message[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const id = `${m.senderId}/${m.messageClientId}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
