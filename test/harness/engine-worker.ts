/**
 * Inside a device's worker thread: one real engine (`createConversationEngine`), its replica in
 * memory or in Dexie over fake-indexeddb, and a device clock skewed by `init.skewMs`. Answers the
 * commands of `engine-device.ts` and watches every read time the app could see, so a read time
 * that moves back at any moment is recorded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createConversationEngine, type Conversation, type ConversationEngine } from '@convsync/engine';
import type { RxStorage } from 'rxdb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { ConvSyncError } from '@convsync/protocol';
import type { EngineCommand, EngineDeviceInit, EngineReply, EngineSnapshot, GroupView, ConversationView } from './engine-rpc.js';

const init = (workerData as { init: EngineDeviceInit }).init;
const fakeIndexedDb = init.storage === 'dexie' ? await import('fake-indexeddb') : undefined;

const tabCount = Math.max(1, init.tabs ?? 1);
const memory = tabCount > 1 ? getRxStorageMemory() as RxStorage<unknown, unknown> : undefined;
let opened = 0;

function openEngine(): Promise<ConversationEngine> {
  opened++;
  return createConversationEngine({
    url: init.url,
    token: init.token,
    deviceId: init.deviceId,
    databaseName: `db-${init.deviceId.toLowerCase()}`,
    // Tabs: RxDB refuses two databases of one name and storage in a process; the memory storage
    // under another name per tab shares the same collections and change events.
    storage: memory === undefined ? init.storage : { ...memory, name: `memory-tab-${opened}` },
    ...(memory === undefined ? {} : { multiInstance: true }),
    // The device's clock is off by skewMs (up to ±24 h in the runs).
    now: () => Date.now() + init.skewMs,
    ...(fakeIndexedDb === undefined || memory !== undefined ? {} : { indexedDB: fakeIndexedDb.indexedDB, IDBKeyRange: fakeIndexedDb.IDBKeyRange }),
  });
}

let syncState = 'offline';
const syncFailures: string[] = [];
/** Every tab hears what the leader's outbox did with any tab's message: the latest state wins. */
const sent = new Map<string, string>();
const readTimes = new Map<string, number>();
const readTimeRegressions: string[] = [];

function seeReadTime(conversationId: string, readTime: number, where: string): void {
  const before = readTimes.get(conversationId) ?? 0;
  if (readTime < before) readTimeRegressions.push(`${init.deviceId} ${conversationId}: ${before} → ${readTime} (${where})`);
  else readTimes.set(conversationId, readTime);
}

interface Tab {
  engine: ConversationEngine;
  /** The tab's own read times: a read time moving back is judged per tab, as an app sees it. */
  readTimes: Map<string, number>;
  state: string;
}

async function openTab(): Promise<Tab> {
  const engine = await openEngine();
  const tab: Tab = { engine, readTimes: new Map(), state: 'offline' };
  const see = (conversationId: string, readTime: number, where: string): void => {
    const before = tab.readTimes.get(conversationId) ?? 0;
    if (readTime < before) readTimeRegressions.push(`${init.deviceId} ${conversationId}: ${before} → ${readTime} (${where})`);
    else tab.readTimes.set(conversationId, readTime);
  };
  engine.syncState$.subscribe((state) => {
    tab.state = state;
  });
  engine.conversationService.on('onSyncFailed', (error) => syncFailures.push(`${error.code} ${error.desc}`));
  engine.conversationService.on('onConversationReadTimeUpdated', (conversationId, readTime) => see(conversationId, readTime, 'event'));
  engine.conversationService.conversationList$().subscribe((list) => {
    for (const c of list) see(c.conversationId, c.lastReadTime, 'list');
  });
  engine.messageService.on('onSendMessage', (message) => {
    sent.set(message.messageClientId, message.sendingState);
  });
  return tab;
}

const tabs: Tab[] = [];
for (let i = 0; i < tabCount; i++) tabs.push(await openTab());
let commands = 0;
/** The tab the next command runs in (each in turn); every 5th command first replaces the oldest tab. */
async function nextTab(kind: EngineCommand['kind']): Promise<Tab> {
  if (tabCount > 1 && kind !== 'snapshot' && kind !== 'byIds' && kind !== 'close') {
    commands++;
    if (commands % 5 === 0) {
      const oldest = tabs.shift() as Tab;
      await oldest.engine.close();
      tabs.push(await openTab());
    }
  }
  return tabs[commands % tabs.length] as Tab;
}
let engine = (tabs[0] as Tab).engine;
let conversations = engine.conversationService;
let groups = engine.conversationGroupService;

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

async function viewsOf(tab: Tab): Promise<{ conversations: ConversationView[]; groups: GroupView[] }> {
  const views: ConversationView[] = [];
  let offset = 0;
  for (;;) {
    const page = await tab.engine.conversationService.getConversationList(offset, 100);
    for (const c of page.conversationList) views.push(viewOf(c));
    if (page.finished) break;
    offset = page.offset;
  }
  const groupViews: GroupView[] = (await tab.engine.conversationGroupService.getConversationGroupList())
    .map((g) => ({ groupId: g.groupId, name: g.name, serverExtension: g.serverExtension }));
  return {
    conversations: views.sort((a, b) => (a.conversationId < b.conversationId ? -1 : 1)),
    groups: groupViews.sort((a, b) => (a.groupId < b.groupId ? -1 : 1)),
  };
}

/** Every tab's views: equal ones as they are; tabs that disagree with a marker no server matches. */
async function snapshot(): Promise<EngineSnapshot> {
  const all = await Promise.all(tabs.map(viewsOf));
  const first = all[0] as Awaited<ReturnType<typeof viewsOf>>;
  const agree = all.every((views) => JSON.stringify(views) === JSON.stringify(first));
  const marker: ConversationView = {
    conversationId: `tabs-disagree: ${JSON.stringify(all.map((views) => views.conversations))}`,
    stickTop: false, mute: false, serverExtension: '', groupIds: [], lastReadTime: 0, unreadCount: 0, lastMessageServerId: null,
  };
  // 'synced' once every tab says so (the followers mirror the leader).
  syncState = tabs.every((tab) => tab.state === 'synced') ? 'synced' : tabs.map((tab) => tab.state).join('/');
  return {
    syncState,
    conversations: agree ? first.conversations : [...first.conversations, marker],
    groups: first.groups,
    sent: [...sent].map(([clientMessageId, state]) => ({ clientMessageId, state })),
    readTimeRegressions,
    syncFailures,
  };
}

async function run(command: EngineCommand): Promise<unknown> {
  if (command.kind === 'close') {
    for (const tab of tabs) await tab.engine.close();
    return undefined;
  }
  const tab = await nextTab(command.kind);
  engine = tab.engine;
  conversations = engine.conversationService;
  groups = engine.conversationGroupService;
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
