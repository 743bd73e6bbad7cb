import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import type { ConversationDoc } from '@convsync/protocol';
import { snapshotRows } from '../src/views/unread-index.js';
import { eventually, openServices, receive, serverDoc, waitFor, type ServiceHarness } from './services.helpers.js';

let currentStorage: 'memory' | 'dexie' = 'memory';
const open: ServiceHarness[] = [];
async function services(options: { name?: string } = {}): Promise<ServiceHarness> {
  const harness = await openServices({ accountId: 'alice', storage: currentStorage, ...options });
  open.push(harness);
  return harness;
}
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const T = 1_700_000_000_000;

describe.each(['memory', 'dexie'] as const)('unread views over %s storage', (storage) => {
  beforeEach(() => {
    currentStorage = storage;
  });
  it('the total follows every change incrementally and a deleted conversation leaves it', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    const totals: number[] = [];
    cs.on('onTotalUnreadCountChanged', (count) => totals.push(count));
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 }),
      serverDoc({ conversationId: 'alice|2|team', time: T + 2, from: 'carol', unread: 5 }),
    ]);
    expect(cs.getTotalUnreadCount()).toBe(7);
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: T + 3, from: 'bob', unread: 3, serverRev: 10 })]);
    expect(cs.getTotalUnreadCount()).toBe(8);
    expect(await cs.getUnreadCountByIds(['alice|1|bob', 'alice|1|nobody'])).toBe(3);
    await cs.deleteConversation('alice|2|team');
    expect(cs.getTotalUnreadCount()).toBe(3);
    expect(totals).toEqual([7, 8, 3]);
    expect(await firstValueFrom(cs.totalUnreadCount$)).toBe(3);
  });

  it('an offline mark-read clears the unread at once and moves the read time to the newest message', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: T + 5, from: 'bob', unread: 4 })]);
    const readTimes: [string, number][] = [];
    cs.on('onConversationReadTimeUpdated', (id, time) => readTimes.push([id, time]));
    const readTime = await cs.markConversationRead('alice|1|bob');
    expect(readTime).toBe(T + 5);
    expect(cs.getTotalUnreadCount()).toBe(0);
    expect(await cs.getConversationReadTime('alice|1|bob')).toBe(T + 5);
    expect(readTimes).toEqual([['alice|1|bob', T + 5]]);
    // A newer message from the server counts again: the read covered only what the device knew.
    const current = (await harness.ctx.replica.conversations.findOne('alice|1|bob').exec())?.toMutableJSON() as ConversationDoc;
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: T + 9, from: 'bob', unread: 1, base: current })]);
    expect(cs.getTotalUnreadCount()).toBe(1);
  });

  it('filtered counts follow type, group and mute changes, one event per change', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 }),
      serverDoc({ conversationId: 'alice|1|dan', time: T + 2, from: 'dan', unread: 1 }),
      serverDoc({ conversationId: 'alice|2|team', time: T + 3, from: 'carol', unread: 5 }),
    ]);
    const events: [unknown, number][] = [];
    cs.on('onUnreadCountChangedByFilter', (filter, count) => events.push([filter, count]));
    cs.subscribeUnreadCountByFilter({ conversationTypes: [1], ignoreMuted: true });
    cs.subscribeUnreadCountByFilter({ ignoreMuted: true, conversationTypes: [1, 1] }); // same filter by value
    expect(await cs.getUnreadCountByFilter({ conversationTypes: [1], ignoreMuted: true })).toBe(3);
    await cs.muteConversation('alice|1|bob', true);
    expect(events).toEqual([[{ conversationTypes: [1], ignoreMuted: true }, 1]]);
    const { group } = await harness.conversationGroupService.createConversationGroup('work', '', ['alice|2|team', 'alice|1|dan']);
    expect(await cs.getUnreadCountByFilter({ conversationGroupId: group.groupId })).toBe(6);
    const live = cs.unreadCountByFilter$({ conversationGroupId: group.groupId });
    expect(await firstValueFrom(live)).toBe(6);
    await cs.markConversationRead('alice|1|dan');
    expect(events).toEqual([[{ conversationTypes: [1], ignoreMuted: true }, 1], [{ conversationTypes: [1], ignoreMuted: true }, 0]]);
    expect(await firstValueFrom(live)).toBe(5);
    cs.unsubscribeUnreadCountByFilter({ conversationTypes: [1], ignoreMuted: true });
    await cs.muteConversation('alice|1|bob', false);
    expect(events).toHaveLength(2);
  });

  it('clear calls mark the chosen conversations read', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 }),
      serverDoc({ conversationId: 'alice|2|team', time: T + 2, from: 'carol', unread: 5 }),
      serverDoc({ conversationId: 'alice|3|big', time: T + 3, from: 'carol', unread: 7 }),
      serverDoc({ conversationId: 'alice|1|eve', time: T + 4, from: 'eve', unread: 1 }),
    ]);
    await cs.clearUnreadCountByTypes([2]);
    expect(cs.getTotalUnreadCount()).toBe(10);
    const { group } = await harness.conversationGroupService.createConversationGroup('g', '', ['alice|3|big']);
    await cs.clearUnreadCountByGroupId(group.groupId);
    expect(cs.getTotalUnreadCount()).toBe(3);
    const failed = await cs.clearUnreadCountByIds(['alice|1|bob', 'alice|1|zz']);
    expect(failed.map((f) => f.conversationId)).toEqual(['alice|1|zz']);
    expect(cs.getTotalUnreadCount()).toBe(1);
    await cs.clearTotalUnreadCount();
    expect(cs.getTotalUnreadCount()).toBe(0);
    expect((await cs.getConversationListByOption(0, 10, { onlyUnread: true })).conversationList).toEqual([]);
  });

  it('a cold start has the total at once, from the index snapshot (no scan, no count query)', async () => {
    const name = `cold-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage: currentStorage, name });
    const docs = Array.from({ length: 2000 }, (_, i) =>
      serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: (i % 3) + 1 }));
    await receive(first, docs);
    const expected = docs.reduce((sum, d) => sum + d.unreadCount, 0);
    expect(first.conversationService.getTotalUnreadCount()).toBe(expected);
    await first.close();
    const started = performance.now();
    const second = await services({ name });
    const ms = performance.now() - started;
    expect(second.conversationService.getTotalUnreadCount()).toBe(expected);
    console.info(`cold start with 2,000 conversations: services ready in ${ms.toFixed(0)} ms`);
  });

  it('the index snapshot is one string of rows with each rank; a snapshot of an older version is read as none (the collection once)', async () => {
    const name = `snapshot-format-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage: currentStorage, name });
    await receive(first, [
      serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 }),
      serverDoc({ conversationId: 'alice|1|eve', time: T + 2, from: 'eve', unread: 3 }),
    ]);
    const ranks = new Map((await first.ctx.replica.conversations.find().exec()).map((doc) => [doc.conversationId, doc.rank]));
    await first.close();
    /** Opens the replica after its snapshot was replaced by `snapshot` (with bob's unread at 7: no document says so). */
    const reopened = async (snapshot: (stored: { checkpoint: unknown }, rows: unknown[][]) => unknown): Promise<number> => {
      const opened = await openServices({ accountId: 'alice', storage: currentStorage, name, unreadSnapshotDelayMs: 60_000 });
      const stored = (await opened.ctx.replica.getMeta('unreadIndex')) as { v: number; checkpoint: unknown; rows: unknown };
      expect(stored.v).toBe(3);
      expect(typeof stored.rows).toBe('string');
      const rows = snapshotRows(stored) ?? [];
      expect(rows.map((row) => [row[0], row[8]]).sort()).toEqual([...ranks].sort());
      await opened.ctx.replica.setMeta('unreadIndex', snapshot(stored, rows.map((row) => (row[0] === 'alice|1|bob' ? row.with(5, 7) : row))));
      await opened.crash();
      const next = await openServices({ accountId: 'alice', storage: currentStorage, name, unreadSnapshotDelayMs: 60_000 });
      const total = next.conversationService.getTotalUnreadCount();
      await next.crash();
      return total;
    };
    // The current version is read: the total is the snapshot's.
    expect(await reopened((stored, rows) => ({ v: 3, checkpoint: stored.checkpoint, rows: JSON.stringify(rows) }))).toBe(10);
    // Version 2 (rows as arrays, no rank) is read as none: the total is the documents'.
    expect(await reopened((stored, rows) => ({ v: 2, checkpoint: stored.checkpoint, rows: rows.map((row) => row.slice(0, 8)) }))).toBe(5);
    expect(snapshotRows({ v: 3, rows: '[["alice|1|bob"' })).toBeUndefined();
  });

  it('the index snapshot is written once changes pause, not on every change', async () => {
    const harness = await openServices({ accountId: 'alice', storage: currentStorage, unreadSnapshotDelayMs: 50 });
    open.push(harness);
    for (let i = 0; i < 5; i++) {
      await receive(harness, [serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: 1 })]);
    }
    const rowsOf = async (): Promise<number> =>
      snapshotRows(await harness.ctx.replica.getMeta('unreadIndex'))?.length ?? 0;
    await eventually(async () => (await rowsOf()) === 5);
  });

  it('after a crash the unread index corrects what changed after its last snapshot', async () => {
    const name = `crash-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage: currentStorage, name });
    await receive(first, [
      serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 }),
      serverDoc({ conversationId: 'alice|1|eve', time: T + 2, from: 'eve', unread: 3 }),
    ]);
    await first.close();
    // A clean close left an exact snapshot: the next start shows it at once.
    const second = await openServices({ accountId: 'alice', storage: currentStorage, name, unreadSnapshotDelayMs: 60_000 });
    expect(second.conversationService.getTotalUnreadCount()).toBe(5);
    await receive(second, [serverDoc({ conversationId: 'alice|1|bob', time: T + 5, from: 'bob', unread: 4, serverRev: 9 })]);
    expect(second.conversationService.getTotalUnreadCount()).toBe(7);
    // The process dies before the snapshot is written again.
    await second.crash();
    const third = await services({ name });
    await eventually(() => third.conversationService.getTotalUnreadCount() === 7, 20_000);
  });

  it('onReceiveMessages fires for a new last message from someone else, not for own messages', async () => {
    const harness = await services();
    const received: string[] = [];
    harness.messageService.on('onReceiveMessages', (messages) => received.push(...messages.map((m) => `${m.senderId}:${m.text}`)));
    const now = harness.ctx.clock.now();
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: now + 1, from: 'bob', unread: 1 })]);
    const current = (await harness.ctx.replica.conversations.findOne('alice|1|bob').exec())?.toMutableJSON() as ConversationDoc;
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: now + 2, from: 'alice', unread: 0, base: current })]);
    await eventually(() => received.length >= 1);
    expect(received).toEqual([`bob:hello at ${now + 1}`]);
  });

  it('conversation$ follows one conversation and emits null once it is deleted', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    await receive(harness, [serverDoc({ conversationId: 'alice|1|bob', time: T + 1, from: 'bob', unread: 2 })]);
    const one$ = cs.conversation$('alice|1|bob');
    expect((await firstValueFrom(one$))?.unreadCount).toBe(2);
    const read = waitFor(one$, (c) => c?.unreadCount === 0);
    await cs.markConversationRead('alice|1|bob');
    await read;
    const gone = waitFor(one$, (c) => c === null);
    await cs.deleteConversation('alice|1|bob');
    expect(await gone).toBeNull();
  });
});
