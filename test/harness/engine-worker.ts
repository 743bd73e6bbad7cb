/**
 * Inside a device's worker thread: one real engine (`createConversationEngine`), its replica in
 * memory or in Dexie over fake-indexeddb, and a device clock skewed by `init.skewMs`. Answers the
 * commands of `engine-device.ts` and watches every read time the app could see, so a read time
 * that moves back at any moment is recorded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createConversationEngine, type Conversation } from '@convsync/engine';
import { ConvSyncError } from '@convsync/protocol';
import type { EngineCommand, EngineDeviceInit, EngineReply, EngineSnapshot, GroupView, ConversationView } from './engine-rpc.js';

const init = (workerData as { init: EngineDeviceInit }).init;
const fakeIndexedDb = init.storage === 'dexie' ? await import('fake-indexeddb') : undefined;

const engine = await createConversationEngine({
  url: init.url,
  token: init.token,
  deviceId: init.deviceId,
  databaseName: `db-${init.deviceId}`,
  storage: init.storage,
  // The device's clock is off by skewMs (up to ±24 h in the runs).
  now: () => Date.now() + init.skewMs,
  ...(fakeIndexedDb === undefined ? {} : { indexedDB: fakeIndexedDb.indexedDB, IDBKeyRange: fakeIndexedDb.IDBKeyRange }),
});
const conversations = engine.conversationService;
const groups = engine.conversationGroupService;

let syncState = 'offline';
const syncFailures: string[] = [];
const sent = new Map<string, string>();
const readTimes = new Map<string, number>();
const readTimeRegressions: string[] = [];

function seeReadTime(conversationId: string, readTime: number, where: string): void {
  const before = readTimes.get(conversationId) ?? 0;
  if (readTime < before) readTimeRegressions.push(`${init.deviceId} ${conversationId}: ${before} → ${readTime} (${where})`);
  else readTimes.set(conversationId, readTime);
}

engine.syncState$.subscribe((state) => {
  syncState = state;
});
conversations.on('onSyncFailed', (error) => syncFailures.push(`${error.code} ${error.desc}`));
conversations.on('onConversationReadTimeUpdated', (conversationId, readTime) => seeReadTime(conversationId, readTime, 'event'));
conversations.conversationList$().subscribe((list) => {
  for (const c of list) seeReadTime(c.conversationId, c.lastReadTime, 'list');
});
engine.messageService.on('onSendMessage', (message) => {
  sent.set(message.messageClientId, message.sendingState);
});

async function groupIdAt(index: number): Promise<string | undefined> {
  const list = await groups.getConversationGroupList();
  const ids = list.map((g) => g.groupId).sort();
  return ids.length === 0 ? undefined : ids[index % ids.length];
}

function viewOf(c: Conversation): ConversationView {
  return {
    conversationId: c.conversationId,
    stickTop: c.stickTop,
    mute: c.mute,
    serverExtension: c.serverExtension,
    groupIds: [...c.groupIds].sort(),
    lastReadTime: c.lastReadTime,
    unreadCount: c.unreadCount,
    lastMessageServerId: c.lastMessage?.messageRefer.messageServerId ?? null,
  };
}

async function snapshot(): Promise<EngineSnapshot> {
  const views: ConversationView[] = [];
  let offset = 0;
  for (;;) {
    const page = await conversations.getConversationList(offset, 100);
    for (const c of page.conversationList) views.push(viewOf(c));
    if (page.finished) break;
    offset = page.offset;
  }
  const groupViews: GroupView[] = (await groups.getConversationGroupList()).map((g) => ({ groupId: g.groupId, name: g.name, serverExtension: g.serverExtension }));
  return {
    syncState,
    conversations: views.sort((a, b) => (a.conversationId < b.conversationId ? -1 : 1)),
    groups: groupViews.sort((a, b) => (a.groupId < b.groupId ? -1 : 1)),
    sent: [...sent].map(([clientMessageId, state]) => ({ clientMessageId, state })),
    readTimeRegressions,
    syncFailures,
  };
}

async function run(command: EngineCommand): Promise<unknown> {
  switch (command.kind) {
    case 'markRead': {
      const readTime = await conversations.markConversationRead(command.conversationId);
      seeReadTime(command.conversationId, readTime, 'markConversationRead');
      return readTime;
    }
    case 'clearAll':
      return conversations.clearTotalUnreadCount();
    case 'clearByTypes':
      return conversations.clearUnreadCountByTypes(command.types);
    case 'clearByGroup': {
      const groupId = await groupIdAt(command.groupIndex);
      return groupId === undefined ? undefined : conversations.clearUnreadCountByGroupId(groupId);
    }
    case 'clearByIds':
      return conversations.clearUnreadCountByIds(command.ids);
    case 'pin':
      return conversations.stickTopConversation(command.conversationId, command.on);
    case 'mute':
      return conversations.muteConversation(command.conversationId, command.on);
    case 'extension':
      return conversations.updateConversation(command.conversationId, { serverExtension: command.text });
    case 'create':
      return (await conversations.createConversation(command.conversationId)).conversationId;
    case 'delete':
      return conversations.deleteConversation(command.conversationId, command.clear);
    case 'groupCreate':
      return (await groups.createConversationGroup(command.name)).group.groupId;
    case 'groupRename': {
      const groupId = await groupIdAt(command.groupIndex);
      return groupId === undefined ? undefined : groups.updateConversationGroup(groupId, command.name);
    }
    case 'groupDelete': {
      const groupId = await groupIdAt(command.groupIndex);
      return groupId === undefined ? undefined : groups.deleteConversationGroup(groupId);
    }
    case 'groupAdd':
    case 'groupRemove': {
      const groupId = await groupIdAt(command.groupIndex);
      if (groupId === undefined) return undefined;
      return command.kind === 'groupAdd'
        ? groups.addConversationsToGroup(groupId, [command.conversationId])
        : groups.removeConversationsFromGroup(groupId, [command.conversationId]);
    }
    case 'send': {
      const message = await engine.messageService.sendMessage(command.conversationId, { text: command.text });
      if (!sent.has(message.messageClientId)) sent.set(message.messageClientId, message.sendingState);
      return message.messageClientId;
    }
    case 'disconnect':
      return engine.disconnect();
    case 'connect':
      return engine.connect();
    case 'snapshot':
      return snapshot();
    case 'byIds':
      return (await conversations.getConversationListByIds(command.ids)).map(viewOf);
    case 'close':
      return engine.close();
  }
}

parentPort?.on('message', (message: { id: number; command: EngineCommand }) => {
  run(message.command).then(
    (value) => parentPort?.postMessage({ id: message.id, ok: true, value: value ?? null } satisfies EngineReply),
    (error: unknown) => {
      const code = error instanceof ConvSyncError ? error.code : null;
      parentPort?.postMessage({ id: message.id, ok: false, code, message: error instanceof Error ? error.message : String(error) } satisfies EngineReply);
    },
  );
});
