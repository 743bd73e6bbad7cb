import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, ReplaySubject, type Observable } from 'rxjs';
import type { ConversationDoc } from '@convsync/protocol';
import type { RxDocumentData } from 'rxdb';
import { emptyConversation, normalizeConversation } from '@convsync/protocol';
import { openReplica } from '../src/replica/database.js';
import { openUnreadIndex } from '../src/services/index.js';
import { TOP_PAGE } from '../src/views/conversation-mirror.js';
import { openServices, receive, serverDoc, waitFor, type ServiceHarness } from './services.helpers.js';

const open: ServiceHarness[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const T = 1_700_000_000_000;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Every list a subscription saw (as ids), and the latest one as an observable. */
function record(list$: Observable<{ conversationId: string }[]>): { lists: string[][]; latest$: Observable<string[]>; stop(): void } {
  const lists: string[][] = [];
  const latest$ = new ReplaySubject<string[]>(1);
  const subscription = list$.subscribe((list) => {
    const ids = list.map((c) => c.conversationId);
    lists.push(ids);
    latest$.next(ids);
  });
  return { lists, latest$, stop: () => subscription.unsubscribe() };
}

/** Whether `list` is the start of one of `states` (in order, without a gap). */
function isTopOf(list: readonly string[], states: readonly (readonly string[])[]): boolean {
  return states.some((state) => list.length <= state.length && list.every((id, i) => state[i] === id));
}

/**
 * Holds back the list mirror's read of every conversation (the only read by id of more than a
 * page) until `release`, so a test sees what happens while the rest of the list loads.
 */
function holdFullRead(harness: ServiceHarness): { release(): void; held(): boolean } {
  const storage = harness.ctx.replica.conversations.storageInstance;
  const read = storage.findDocumentsById.bind(storage);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  storage.findDocumentsById = async (ids: string[], withDeleted: boolean): Promise<RxDocumentData<ConversationDoc>[]> => {
    if (ids.length > TOP_PAGE) {
      held = true;
      await released;
    }
    return read(ids, withDeleted);
  };
  return { release, held: () => held };
}

describe('the unread index\'s top of the list (a cold start\'s first page)', () => {
  it('orders by rank then id, pinned first, skips deleted conversations, and says whether more follow', async () => {
    const replica = await openReplica({ name: `top-${process.pid}-${Date.now()}`, storage: 'memory' });
    const doc = (id: string, sortOrder: number, stickTop = false): ConversationDoc & { dirty: number } => ({
      ...normalizeConversation({ ...emptyConversation({ conversationId: `alice|1|${id}`, now: T }), sortOrder, stickTop }),
      dirty: 0,
    });
    // b and c share a rank: the id decides, as in the list.
    await replica.conversations.bulkInsert([doc('a', T + 1), doc('c', T + 5), doc('b', T + 5), doc('p', T, true), doc('z', T + 9)]);
    await (await replica.conversations.findOne('alice|1|z').exec())?.remove();
    const index = openUnreadIndex({ replica, onError: (error) => { throw error; } });
    await index.caughtUp;
    const ids = (n: number): { ids: string[]; more: boolean } => {
      const { positions, more } = index.top(n);
      return { ids: positions.map((p) => p.conversationId.slice('alice|1|'.length)), more };
    };
    expect(ids(3)).toEqual({ ids: ['p', 'b', 'c'], more: true });
    expect(ids(4)).toEqual({ ids: ['p', 'b', 'c', 'a'], more: false });
    expect(ids(10)).toEqual({ ids: ['p', 'b', 'c', 'a'], more: false });
    await index.dispose();
    await replica.close();
  });
});

describe.each(['memory', 'dexie'] as const)('conversationList$ over %s storage', (storage) => {
  it('a cold start emits the top page in order first, then the whole list, and loses no change made while the rest loads', async () => {
    const name = `list-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage, name });
    const size = 3000;
    // Every 100th is a team; only the oldest 300 are unread (none of them in the top page).
    const idOf = (i: number): string => (i % 100 === 0 ? `alice|2|t${i}` : `alice|1|u${i}`);
    await receive(first, Array.from({ length: size }, (_, i) =>
      serverDoc({ conversationId: idOf(i), time: T + i, from: `u${i}`, unread: i < 300 ? 1 : 0 })));
    await first.close();

    const second = await openServices({ accountId: 'alice', storage, name });
    open.push(second);
    const gate = holdFullRead(second);
    const cs = second.conversationService;
    const newestFirst = (from: number, to: number): string[] => range(from, to).reverse().map(idOf);
    const all = record(cs.conversationList$());
    const teams = record(cs.conversationList$({ conversationTypes: [2] }));
    const unread = record(cs.conversationList$({ onlyUnread: true }));

    // The top page, in order, while the rest is held back; a filter gets its part of that page.
    await waitFor(all.latest$, (l) => l.length > 0);
    expect(all.lists[0]).toEqual(newestFirst(size - TOP_PAGE, size));
    await waitFor(teams.latest$, (l) => l.length > 0);
    expect(teams.lists[0]).toEqual([idOf(size - TOP_PAGE)]);
    // No unread conversation is in the top page: an empty list there would be a lie, so none yet.
    expect(unread.lists).toEqual([]);

    // Changes while the rest loads: a deep conversation changed in place (it must not show up after
    // the top, past a gap), a deep one pinned, one of the top deleted, a deep one brought up by a
    // new message. The top shows each at once, in order.
    await cs.muteConversation(idOf(20), true);
    await cs.stickTopConversation(idOf(5), true);
    await cs.deleteConversation(idOf(size - 2));
    await receive(second, [serverDoc({ conversationId: idOf(10), time: T + 10_000, from: 'u10', unread: 2 })]);
    const top = [idOf(5), idOf(10), idOf(size - 1), ...newestFirst(size - TOP_PAGE, size - 2)];
    await waitFor(all.latest$, (l) => l.join() === top.join());
    expect(gate.held()).toBe(true);

    gate.release();
    // The list after each change, in order: every list shown must be the top of one of them.
    const s0 = newestFirst(0, size);
    const s1 = [idOf(5), ...s0.filter((id) => id !== idOf(5))];
    const s2 = s1.filter((id) => id !== idOf(size - 2));
    const whole = [idOf(5), idOf(10), ...s2.filter((id) => id !== idOf(5) && id !== idOf(10))];
    await waitFor(all.latest$, (l) => l.length === whole.length, 20_000);
    expect(all.lists[all.lists.length - 1]).toEqual(whole);
    for (const list of all.lists) expect(isTopOf(list, [s0, s1, s2, whole])).toBe(true);

    const teamsOf = (list: string[]): string[] => list.filter((id) => id.startsWith('alice|2|'));
    await waitFor(teams.latest$, (l) => l.length === size / 100);
    expect(teams.lists[teams.lists.length - 1]).toEqual(teamsOf(whole));
    for (const list of teams.lists) expect(isTopOf(list, [s0, s1, s2, whole].map(teamsOf))).toBe(true);

    // The unread list had nothing in the top page until the changes brought u5 (pinned) and u10.
    const unreadOf = (list: string[]): string[] => list.filter((id) => id === idOf(10) || Number(id.split('|')[2]?.slice(1)) < 300);
    await waitFor(unread.latest$, (l) => l.length === 300);
    expect(unread.lists[0]).toEqual([idOf(5)]);
    expect(unread.lists[unread.lists.length - 1]).toEqual(unreadOf(whole));
    for (const list of unread.lists) expect(isTopOf(list, [s1, s2, whole].map(unreadOf))).toBe(true);
    expect(second.errors).toEqual([]);
    for (const r of [all, teams, unread]) r.stop();
  });

  it('a cold start places a conversation moved up by a message in the outbox in the top page', async () => {
    const name = `list-outbox-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage, name });
    const size = 300;
    await receive(first, Array.from({ length: size }, (_, i) =>
      serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: 0 })));
    await first.messageService.sendMessage('alice|1|u3', { text: 'sent offline' });
    await first.close();

    const second = await openServices({ accountId: 'alice', storage, name });
    open.push(second);
    const gate = holdFullRead(second);
    const all = record(second.conversationService.conversationList$());
    await waitFor(all.latest$, (l) => l.length > 0);
    const deep = (from: number, to: number): string[] => range(from, to).reverse().map((i) => `alice|1|u${i}`);
    expect(all.lists[0]).toEqual(['alice|1|u3', ...deep(size - TOP_PAGE, size)]);
    gate.release();
    await waitFor(all.latest$, (l) => l.length === size);
    expect(all.lists[all.lists.length - 1]).toEqual(['alice|1|u3', ...deep(0, size).filter((id) => id !== 'alice|1|u3')]);
    expect(second.errors).toEqual([]);
    all.stop();
  });

  it('after a crash, the top page has what changed after the last unread snapshot (a conversation moved up, one deleted)', async () => {
    const name = `list-crash-${storage}-${Date.now()}`;
    const idOf = (i: number): string => `alice|1|c${i}`;
    const size = 300;
    const first = await openServices({ accountId: 'alice', storage, name });
    await receive(first, range(0, size).map((i) => serverDoc({ conversationId: idOf(i), time: T + i, from: `c${i}`, unread: 0 })));
    await first.close();
    // Changed after the snapshot the clean close wrote; the process dies before another is written.
    const second = await openServices({ accountId: 'alice', storage, name, unreadSnapshotDelayMs: 60_000 });
    await receive(second, [serverDoc({ conversationId: idOf(5), time: T + size + 1, from: 'c5', unread: 1 })]);
    await second.conversationService.deleteConversation(idOf(size - 1));
    await second.crash();

    const third = await openServices({ accountId: 'alice', storage, name });
    open.push(third);
    const gate = holdFullRead(third);
    const all = record(third.conversationService.conversationList$());
    await waitFor(all.latest$, (l) => l.length > 0);
    expect(all.lists[0]).toEqual([idOf(5), ...range(size - TOP_PAGE, size - 1).reverse().map(idOf)]);
    gate.release();
    await waitFor(all.latest$, (l) => l.length === size - 1);
    all.stop();
  });

  it('the top page read ahead at start is used by the first subscription, with every change made before it', async () => {
    const name = `list-ahead-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage, name });
    const size = 300;
    const idOf = (i: number): string => `alice|1|a${i}`;
    await receive(first, range(0, size).map((i) => serverDoc({ conversationId: idOf(i), time: T + i, from: `a${i}`, unread: 0 })));
    await first.close();

    const second = await openServices({ accountId: 'alice', storage, name });
    open.push(second);
    const cs = second.conversationService;
    // The read-ahead began when the services opened; these changes come before anyone subscribes.
    await receive(second, [serverDoc({ conversationId: idOf(3), time: T + size + 1, from: 'a3', unread: 1 })]);
    await receive(second, [serverDoc({ conversationId: 'alice|1|fresh', time: T + size + 2, from: 'fresh', unread: 1 })]);
    await cs.stickTopConversation(idOf(7), true);
    await cs.deleteConversation(idOf(size - 1));
    const storageInstance = second.ctx.replica.conversations.storageInstance;
    const query = storageInstance.query.bind(storageInstance);
    let queries = 0;
    storageInstance.query = (prepared) => {
      queries++;
      return query(prepared);
    };
    const all = record(cs.conversationList$());
    await waitFor(all.latest$, (l) => l.length > 0);
    all.stop();
    const expected = [idOf(7), 'alice|1|fresh', idOf(3), ...range(size - TOP_PAGE - 2, size - 1).reverse().map(idOf)];
    expect(all.lists[0]?.slice(0, TOP_PAGE)).toEqual(expected.slice(0, TOP_PAGE));
    // The page came from the read-ahead: the subscription made no query of its own.
    expect(queries).toBe(0);
  });

  it('a read-ahead overtaken by many changes before the first subscription is dropped, and the list is read afresh', async () => {
    const name = `list-ahead-many-${storage}-${Date.now()}`;
    const harness = await openServices({ accountId: 'alice', storage, name });
    open.push(harness);
    const idOf = (i: number): string => `alice|1|m${i}`;
    // A first sync storing 1,500 conversations before the app subscribes.
    await receive(harness, range(0, 1500).map((i) => serverDoc({ conversationId: idOf(i), time: T + i, from: `m${i}`, unread: 0 })));
    const all = record(harness.conversationService.conversationList$());
    await waitFor(all.latest$, (l) => l.length === 1500);
    all.stop();
    expect(all.lists[0]?.slice(0, 3)).toEqual([idOf(1499), idOf(1498), idOf(1497)]);
  });

  it('a replica no larger than the top page emits its whole list once', async () => {
    const harness = await openServices({ accountId: 'alice', storage });
    open.push(harness);
    await receive(harness, Array.from({ length: TOP_PAGE - 1 }, (_, i) =>
      serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: 0 })));
    const gate = holdFullRead(harness);
    const all = record(harness.conversationService.conversationList$());
    await waitFor(all.latest$, (l) => l.length > 0);
    expect(all.lists).toEqual([range(0, TOP_PAGE - 1).reverse().map((i) => `alice|1|u${i}`)]);
    expect(gate.held()).toBe(false);
    all.stop();
  });

  it('follows changes made after it started: new, deleted and moved conversations', async () => {
    const harness = await openServices({ accountId: 'alice', storage });
    open.push(harness);
    const cs = harness.conversationService;
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|a', time: T + 1, from: 'a', unread: 1 }),
      serverDoc({ conversationId: 'alice|1|b', time: T + 2, from: 'b', unread: 0 }),
    ]);
    const list$ = cs.conversationList$();
    const ids = (l: { conversationId: string }[]): string[] => l.map((c) => c.conversationId);
    expect(ids(await firstValueFrom(list$))).toEqual(['alice|1|b', 'alice|1|a']);
    await receive(harness, [serverDoc({ conversationId: 'alice|1|c', time: T + 3, from: 'c', unread: 2 })]);
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|c,alice|1|b,alice|1|a');
    await cs.deleteConversation('alice|1|b');
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|c,alice|1|a');
    await cs.stickTopConversation('alice|1|a', true);
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|a,alice|1|c');
    const unread$ = cs.conversationList$({ onlyUnread: true });
    expect(ids(await firstValueFrom(unread$))).toEqual(['alice|1|a', 'alice|1|c']);
    await cs.markConversationRead('alice|1|c');
    await waitFor(unread$, (l) => ids(l).join() === 'alice|1|a');
  });

  it('a message waiting in the outbox shows as the last message and moves its conversation up', async () => {
    const harness = await openServices({ accountId: 'alice', storage });
    open.push(harness);
    const cs = harness.conversationService;
    const now = harness.ctx.clock.now();
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|a', time: now - 2000, from: 'a', unread: 0 }),
      serverDoc({ conversationId: 'alice|1|b', time: now - 1000, from: 'b', unread: 0 }),
    ]);
    const list$ = cs.conversationList$();
    await waitFor(list$, (l) => l.map((c) => c.conversationId).join() === 'alice|1|b,alice|1|a');
    await harness.messageService.sendMessage('alice|1|a', { text: 'offline hello' });
    const list = await waitFor(list$, (l) => l[0]?.conversationId === 'alice|1|a');
    expect(list[0]?.lastMessage?.text).toBe('offline hello');
    expect(list[0]?.lastMessage?.messageRefer.senderId).toBe('alice');
  });
});
