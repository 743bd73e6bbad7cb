/**
 * The first screen (docs/ARCHITECTURE.md "First sync") against a real in-process server: a fresh
 * device shows the right top of the list and the right unread totals from the first page, before
 * the catch-up pull finishes; reads and messages during the catch-up move the totals with no
 * double count at the switch to the local index; a restart mid-catch-up resumes from its
 * checkpoint without a second page and with the right totals.
 */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import type { RxStorage } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationType } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { createConversationEngine, type SyncProgress } from '../src/index.js';
import { InMemoryTransport } from '../src/transport/in-memory.js';
import type { Transport } from '../src/transport/transport.js';
import type { StorageKind } from './integration.helpers.js';
import { eventually, waitFor } from './services.helpers.js';

const ACCOUNT = 'alice';
const CONVERSATIONS = 3000;
const peerOf = (i: number): string => `peer${String(i).padStart(5, '0')}`;
const conversationOf = (i: number): string => `${ACCOUNT}|${ConversationType.P2P}|${peerOf(i)}`;
let counter = 0;

/** A device of alice on the in-process server; counts the first-page requests it sends. */
async function device(server: ConvSyncServer, storage: StorageKind, reopen?: { name: string; deviceId: string }, options: { olderServer?: boolean; multiInstance?: boolean; rxStorage?: RxStorage<unknown, unknown> } = {}) {
  let rankPulls = 0;
  let logPulls = 0;
  const token = await server.issueToken(ACCOUNT);
  const engine = await createConversationEngine({
    url: 'http://in-process.invalid',
    token,
    storage: options.rxStorage ?? storage,
    databaseName: reopen?.name ?? `first-screen-${storage}-${process.pid}-${++counter}-${Date.now()}`,
    ...(reopen === undefined ? {} : { deviceId: reopen.deviceId }),
    ...(storage === 'dexie' ? { indexedDB, IDBKeyRange } : {}),
    ...(options.multiInstance === undefined ? {} : { multiInstance: options.multiInstance }),
    transport: ({ deviceId }): Transport => {
      const transport = new InMemoryTransport({ open: () => server.connectInProcess(token, { deviceId }), retryMs: 50 });
      const request = transport.request.bind(transport);
      transport.request = ((event: string, payload: { order?: string; collection?: string }) => {
        if (event === 'sync:pull' && payload.collection === 'conversations' && payload.order !== 'rank') logPulls++;
        if (event === 'sync:pull' && payload.order === 'rank') {
          rankPulls++;
          // A server that predates `order` drops the field and answers the log's first page.
          if (options.olderServer === true) {
            const { order: _order, ...rest } = payload;
            return request(event as never, rest as never);
          }
        }
        return request(event as never, payload as never);
      });
      return transport;
    },
  });
  return { engine, rankPulls: () => rankPulls, logPulls: () => logPulls };
}

function latest<T>(source: { subscribe: (next: (value: T) => void) => { unsubscribe(): void } }) {
  const seen: T[] = [];
  const subscription = source.subscribe((value) => seen.push(value));
  return { seen, get last(): T | undefined { return seen.at(-1); }, stop: () => subscription.unsubscribe() };
}

const ids = (list: readonly { conversationId: string }[]): string[] => list.map((c) => c.conversationId);

/**
 * The storage of `kind` with the conversations' writes held at a gate until `open()`: the first
 * page's store waits there, so a test sees what is shown before it lands.
 */
function gatedStorage(kind: StorageKind): { storage: RxStorage<unknown, unknown>; open: () => void; opened: () => boolean } {
  const dexieSettings: Record<string, unknown> = { indexedDB, IDBKeyRange };
  const base = (kind === 'dexie' ? getRxStorageDexie(dexieSettings) : getRxStorageMemory()) as RxStorage<unknown, unknown>;
  let open = (): void => undefined;
  let opened = false;
  const gate = new Promise<void>((resolve) => {
    open = () => {
      opened = true;
      resolve();
    };
  });
  const storage: RxStorage<unknown, unknown> = {
    name: base.name,
    rxdbVersion: base.rxdbVersion,
    async createStorageInstance(params) {
      const instance = await base.createStorageInstance(params);
      if (params.collectionName !== 'conversations') return instance;
      const bulkWrite = instance.bulkWrite.bind(instance);
      instance.bulkWrite = async (rows, context) => {
        await gate;
        return bulkWrite(rows, context);
      };
      return instance;
    },
  };
  return { storage, open, opened: () => opened };
}

describe.each<StorageKind>(['memory', 'dexie'])('the first screen (%s)', (storage) => {
  let server: ConvSyncServer;
  /** What a synced device shows: the list's top 50, the total and a filtered count. */
  let expected: { top: string[]; total: number; unmuted: number };

  beforeAll(async () => {
    // Small pull pages: the catch-up takes many round trips, so "before it finishes" is a wide window.
    server = await startServer({ database: ':memory:', port: 0, secret: `s-${Date.now()}-${Math.random()}`, maxFrameBytes: 150_000 });
    for (let i = 0; i < CONVERSATIONS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, CONVERSATIONS - i) }, (_, k) => server.sendMessage({
        from: peerOf(i + k), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: `hello ${i + k}`,
      })));
    }
    // An old conversation pinned (first in the list, though the pull brings it early), a few muted,
    // one read: the page's order and cells are more than "newest first, all unread".
    const admin = await device(server, 'memory');
    await waitFor(admin.engine.syncState$, (s) => s === 'synced', 60_000);
    const cs = admin.engine.conversationService;
    await cs.stickTopConversation(conversationOf(7), true);
    for (const i of [CONVERSATIONS - 2, CONVERSATIONS - 5, 12]) await cs.muteConversation(conversationOf(i), true);
    await cs.markConversationRead(conversationOf(CONVERSATIONS - 3));
    await waitFor(admin.engine.syncState$, (s) => s === 'synced', 60_000);
    expected = {
      top: ids((await cs.getConversationList(0, 50)).conversationList),
      total: cs.getTotalUnreadCount(),
      unmuted: await cs.getUnreadCountByFilter({ ignoreMuted: true }),
    };
    await admin.engine.close();
    expect(expected.top[0]).toBe(conversationOf(7));
    expect(expected.total).toBe(CONVERSATIONS - 1);
    expect(expected.unmuted).toBe(CONVERSATIONS - 4);
  }, 240_000);

  afterAll(async () => {
    await server.close();
  });

  it('shows the final top 50 and totals from the first page, while the catch-up is still running', async () => {
    const { engine, rankPulls } = await device(server, storage);
    const cs = engine.conversationService;
    const progress = latest<SyncProgress>(engine.syncProgress$);
    const totals = latest<number>(cs.totalUnreadCount$);
    const unmuted = latest<number>(cs.unreadCountByFilter$({ ignoreMuted: true }));
    try {
      const first = await waitFor(cs.conversationList$(), (list) => list.length >= 50, 30_000);
      const shown = { top: ids(first.slice(0, 50)), total: totals.last, unmuted: unmuted.last, progress: progress.last };
      const answered = ids((await cs.getConversationList(0, 50)).conversationList);
      expect(shown.progress).toBeDefined();
      expect(shown.progress!.pulled).toBeLessThan(shown.progress!.total);
      expect(shown.top).toEqual(expected.top);
      expect(answered).toEqual(expected.top);
      expect(shown.total).toBe(expected.total);
      expect(shown.unmuted).toBe(expected.unmuted);

      await waitFor(engine.syncState$, (s) => s === 'synced', 60_000);
      expect(ids((await cs.getConversationList(0, 50)).conversationList)).toEqual(expected.top);
      expect(cs.getTotalUnreadCount()).toBe(expected.total);
      // Once shown, the totals never moved: the switch to the local index counted nothing twice.
      expect(totals.seen.slice(totals.seen.indexOf(expected.total))).toEqual([expected.total]);
      expect(unmuted.seen.slice(unmuted.seen.indexOf(expected.unmuted))).toEqual([expected.unmuted]);
      const end = progress.last!;
      expect(end.pulled).toBe(end.total);
      expect(end.total).toBeGreaterThanOrEqual(CONVERSATIONS);
      expect(rankPulls()).toBe(1);
    } finally {
      progress.stop();
      totals.stop();
      unmuted.stop();
      await engine.close();
    }
  }, 120_000);

  it('shows the first page and its totals as the answer arrives, before its store lands; a call made meanwhile waits for the store and answers from it', async () => {
    const gated = gatedStorage(storage);
    const { engine, rankPulls, logPulls } = await device(server, storage, undefined, { rxStorage: gated.storage });
    const cs = engine.conversationService;
    const created: string[] = [];
    cs.on('onConversationCreated', (conversation) => created.push(conversation.conversationId));
    const totals = latest<number>(cs.totalUnreadCount$);
    const unmuted = latest<number>(cs.unreadCountByFilter$({ ignoreMuted: true }));
    try {
      const first = await waitFor(cs.conversationList$(), (list) => list.length >= 50, 30_000);
      expect(gated.opened()).toBe(false);
      expect(ids(first.slice(0, 50))).toEqual(expected.top);
      expect(totals.last).toBe(expected.total);
      expect(unmuted.last).toBe(expected.unmuted);
      // Events say what the replica holds: nothing yet.
      expect(created).toEqual([]);
      // The log's first page travels while the first page is stored.
      await eventually(() => logPulls() >= 1);

      let answered: string[] | undefined;
      const asked = cs.getConversationList(0, 50).then((result) => {
        answered = ids(result.conversationList);
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(answered).toBeUndefined();
      gated.open();
      await asked;
      expect(answered).toEqual(expected.top);
      await waitFor(engine.syncState$, (s) => s === 'synced', 60_000);
      expect(created).toEqual(expect.arrayContaining(expected.top));
      // Shown once, the totals never moved: the store and the switch to the local index count nothing twice.
      expect(totals.seen.slice(totals.seen.indexOf(expected.total))).toEqual([expected.total]);
      expect(unmuted.seen.slice(unmuted.seen.indexOf(expected.unmuted))).toEqual([expected.unmuted]);
      expect(rankPulls()).toBe(1);
    } finally {
      gated.open();
      totals.stop();
      unmuted.stop();
      await engine.close();
    }
  }, 120_000);

  it('with tabs on, the leading tab shows the first page and its totals before the catch-up ends', async () => {
    // The leader's sync starts after its election, after the services: its page attaches late.
    const { engine, rankPulls } = await device(server, storage, undefined, { multiInstance: true });
    const cs = engine.conversationService;
    const progress = latest<SyncProgress>(engine.syncProgress$);
    const totals = latest<number>(cs.totalUnreadCount$);
    try {
      const first = await waitFor(cs.conversationList$(), (list) => list.length >= 50, 30_000);
      expect(progress.last).toBeDefined();
      expect(progress.last!.pulled).toBeLessThan(progress.last!.total);
      expect(ids(first.slice(0, 50))).toEqual(expected.top);
      expect(totals.last).toBe(expected.total);
      await waitFor(engine.syncState$, (s) => s === 'synced', 60_000);
      expect(totals.seen.slice(totals.seen.indexOf(expected.total))).toEqual([expected.total]);
      expect(rankPulls()).toBe(1);
    } finally {
      progress.stop();
      totals.stop();
      await engine.close();
    }
  }, 120_000);

  it('a read during the catch-up lowers the total at once, a message raises it, and nothing counts twice', async () => {
    const { engine } = await device(server, storage);
    const cs = engine.conversationService;
    const progress = latest<SyncProgress>(engine.syncProgress$);
    const totals = latest<number>(cs.totalUnreadCount$);
    const read = conversationOf(CONVERSATIONS - 1);
    const messaged = conversationOf(CONVERSATIONS - 10);
    try {
      await waitFor(cs.conversationList$(), (list) => list.length >= 50, 30_000);
      expect(totals.last).toBe(expected.total);
      await cs.markConversationRead(read);
      const during = progress.last!;
      expect(cs.getTotalUnreadCount()).toBe(expected.total - 1);
      expect(await cs.getUnreadCountByFilter({ ignoreMuted: true })).toBe(expected.unmuted - 1);
      await server.sendMessage({ from: peerOf(CONVERSATIONS - 10), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: 'meanwhile' });
      // The stream brings the message ahead of the pull: the total rises while the catch-up runs.
      await waitFor(cs.totalUnreadCount$, (n) => n === expected.total, 30_000);
      const raised = progress.last!;
      expect(raised.pulled).toBeLessThan(raised.total);
      await waitFor(engine.syncState$, (s) => s === 'synced', 60_000);
      expect(during.pulled).toBeLessThan(during.total);
      expect(cs.getTotalUnreadCount()).toBe(expected.total);
      expect((await cs.getConversationListByIds([messaged]))[0]?.unreadCount).toBe(2);
      // From the first page on: the page's total, one less for the read, one more for the message.
      const shown = totals.seen.slice(totals.seen.indexOf(expected.total));
      const distinct = shown.filter((n, i) => i === 0 || n !== shown[i - 1]);
      expect(distinct).toEqual([expected.total, expected.total - 1, expected.total]);
    } finally {
      progress.stop();
      totals.stop();
      await engine.close();
    }
    // Put the account back as the other tests expect it.
    const admin = await device(server, 'memory');
    await waitFor(admin.engine.syncState$, (s) => s === 'synced', 60_000);
    await admin.engine.conversationService.markConversationRead(messaged);
    await server.sendMessage({ from: peerOf(CONVERSATIONS - 10), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: 'again' });
    await server.sendMessage({ from: peerOf(CONVERSATIONS - 1), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: 'again' });
    await waitFor(admin.engine.conversationService.totalUnreadCount$, (n) => n === expected.total, 30_000);
    expected.top = ids((await admin.engine.conversationService.getConversationList(0, 50)).conversationList);
    await admin.engine.close();
  }, 180_000);

  it('against a server without the first page, it syncs as before: local counts, no progress', async () => {
    const { engine, rankPulls } = await device(server, storage, undefined, { olderServer: true });
    const progress = latest<SyncProgress>(engine.syncProgress$);
    try {
      await waitFor(engine.syncState$, (s) => s === 'synced', 60_000);
      const cs = engine.conversationService;
      expect(rankPulls()).toBe(1);
      expect(ids((await cs.getConversationList(0, 50)).conversationList)).toEqual(expected.top);
      expect(cs.getTotalUnreadCount()).toBe(expected.total);
      expect(await cs.getUnreadCountByFilter({ ignoreMuted: true })).toBe(expected.unmuted);
      expect(progress.seen).toEqual([]);
    } finally {
      progress.stop();
      await engine.close();
    }
  }, 120_000);

  it('a restart mid-catch-up resumes from its checkpoint: no second page, the totals right at once', async () => {
    const name = `first-screen-restart-${storage}-${process.pid}-${++counter}`;
    const first = await device(server, storage, { name, deviceId: `restart${counter}` });
    const progress = latest<SyncProgress>(first.engine.syncProgress$);
    let stoppedAt: SyncProgress;
    try {
      stoppedAt = await waitFor(first.engine.syncProgress$, (p) => p.pulled > 0 && p.pulled < p.total, 30_000);
      await first.engine.conversationService.markConversationRead(conversationOf(CONVERSATIONS - 7));
    } finally {
      progress.stop();
      await first.engine.close();
    }
    const second = await device(server, storage, { name, deviceId: `restart${counter}` });
    const cs = second.engine.conversationService;
    try {
      const resumed = await waitFor(second.engine.syncProgress$, () => true, 10_000);
      expect(resumed.total).toBe(stoppedAt.total);
      expect(resumed.pulled).toBeGreaterThanOrEqual(stoppedAt.pulled);
      const firstTotal = await waitFor(cs.totalUnreadCount$, () => true, 10_000);
      expect(firstTotal).toBe(expected.total - 1);
      await waitFor(second.engine.syncState$, (s) => s === 'synced', 60_000);
      expect(cs.getTotalUnreadCount()).toBe(expected.total - 1);
      expect(second.rankPulls()).toBe(0);
    } finally {
      await second.engine.close();
    }
    const admin = await device(server, 'memory');
    await waitFor(admin.engine.syncState$, (s) => s === 'synced', 60_000);
    await server.sendMessage({ from: peerOf(CONVERSATIONS - 7), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: 'again' });
    await waitFor(admin.engine.conversationService.totalUnreadCount$, (n) => n === expected.total, 30_000);
    expected.top = ids((await admin.engine.conversationService.getConversationList(0, 50)).conversationList);
    await admin.engine.close();
  }, 180_000);
});
