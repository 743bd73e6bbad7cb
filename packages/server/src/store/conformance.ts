/**
 * The store conformance suite: every backend runs it in a few lines, so a new backend is proven
 * by the same behaviour the domain relies on.
 *
 * @example
 * ```ts
 * runStoreConformance('sqlite :memory:', async () => ({ store: openSqliteStore({ path: ':memory:' }) }));
 * ```
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListFacts, Store, StoredMessage, UnreadCell } from './store.js';

/** What a backend's setup returns: a fresh, empty store and how to clean up after it. */
export interface ConformanceSubject {
  store: Store;
  /** Runs after the store is closed (e.g. removes a temp directory or drops a schema). */
  teardown?: () => Promise<void>;
}

/** A small seeded generator (mulberry32): a failing run is replayed by its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The unread totals of `shares` (the last write of each document), counted from scratch. */
function recount(shares: Iterable<ListFacts | undefined>): UnreadCell[] {
  const cells = new Map<string, UnreadCell>();
  const bump = (type: number, muted: boolean, groupId: string | null, unread: number): void => {
    const key = `${type}|${muted}|${groupId ?? ''}`;
    const cell = cells.get(key) ?? { type, muted, groupId, unread: 0 };
    cell.unread += unread;
    cells.set(key, cell);
  };
  for (const share of shares) {
    if (share === undefined || share.unread === 0) continue;
    bump(share.type, share.mute, null, share.unread);
    for (const group of share.groupIds) bump(share.type, share.mute, group, share.unread);
  }
  return [...cells.values()].filter((cell) => cell.unread !== 0).sort(cellOrder);
}

function cellOrder(a: UnreadCell, b: UnreadCell): number {
  return a.type - b.type || Number(a.muted) - Number(b.muted) || (a.groupId ?? '').localeCompare(b.groupId ?? '');
}

function message(overrides: Partial<StoredMessage> & Pick<StoredMessage, 'messageServerId' | 'createTime'>): StoredMessage {
  return {
    conversationKey: 'p2p:alice|bob',
    senderId: 'alice',
    clientMessageId: `c-${overrides.messageServerId}`,
    json: JSON.stringify({ id: overrides.messageServerId }),
    ...overrides,
  };
}

/** Registers the suite under `describe(name)`; `setup` is called before each test. */
export function runStoreConformance(name: string, setup: () => Promise<ConformanceSubject>): void {
  describe(`store conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    let store: Store;

    beforeEach(async () => {
      subject = await setup();
      store = subject.store;
    });

    afterEach(async () => {
      await store.close();
      await subject.teardown?.();
    });

    it('advances each owner\'s log independently, per collection', async () => {
      const ranges = await store.transaction((tx) =>
        tx.advanceSeqs('conversations', [{ owner: 'alice', count: 3 }, { owner: 'bob', count: 1 }, { owner: 'alice', count: 2 }]));
      expect(ranges).toEqual([
        { owner: 'alice', prev: 0, last: 3 },
        { owner: 'bob', prev: 0, last: 1 },
        { owner: 'alice', prev: 3, last: 5 },
      ]);
      const other = await store.transaction((tx) => tx.advanceSeqs('conversationGroups', [{ owner: 'alice', count: 1 }]));
      expect(other).toEqual([{ owner: 'alice', prev: 0, last: 1 }]);
      expect(await store.read((r) => r.currentSeq('alice', 'conversations'))).toBe(5);
      expect(await store.read((r) => r.currentSeq('carol', 'conversations'))).toBe(0);
    });

    it('gives concurrent transactions of one owner distinct, gap-free positions', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () =>
        store.transaction(async (tx) => {
          const [range] = await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
          return range?.last;
        })));
      expect([...results].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('serialises writers that lock the same owner\'s log', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => { locked = resolve; });
      const order: string[] = [];
      const first = store.transaction(async (tx) => {
        await tx.lockLogs('conversations', ['alice', 'bob']);
        locked();
        await gate;
        await tx.putDocs('conversations', [{ owner: 'alice', id: 'a', seq: 1, json: '{"by":"first"}' }]);
        order.push('first');
      });
      await holding;
      const second = store.transaction(async (tx) => {
        await tx.lockLogs('conversations', ['alice']);
        const [doc] = await tx.getDocs('conversations', [{ owner: 'alice', id: 'a' }]);
        order.push(`second saw ${doc?.json ?? 'nothing'}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 30));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first', 'second saw {"by":"first"}']);
    });

    it('pulls rows after a position in seq order, a rewritten row once at its new position', async () => {
      await store.transaction(async (tx) => {
        await tx.putDocs('conversations', [
          { owner: 'alice', id: 'a', seq: 1, json: '{"v":1}' },
          { owner: 'alice', id: 'b', seq: 2, json: '{"v":2}' },
          { owner: 'alice', id: 'c', seq: 3, json: '{"v":3}' },
          { owner: 'bob', id: 'a', seq: 1, json: '{"v":"bob"}' },
        ]);
      });
      await store.transaction((tx) => tx.putDocs('conversations', [{ owner: 'alice', id: 'a', seq: 4, json: '{"v":4}' }]));
      const all = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: 0, limit: 10 }));
      expect(all.map((d) => [d.id, d.seq, d.json])).toEqual([['b', 2, '{"v":2}'], ['c', 3, '{"v":3}'], ['a', 4, '{"v":4}']]);
      const page = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: 2, limit: 1 }));
      expect(page.map((d) => d.id)).toEqual(['c']);
      const none = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversationGroups', afterSeq: 0, limit: 10 }));
      expect(none).toEqual([]);
      const got = await store.read((r) => r.getDocs('conversations', [{ owner: 'bob', id: 'a' }, { owner: 'bob', id: 'zz' }, { owner: 'alice', id: 'a' }]));
      expect(got.map((d) => d?.json)).toEqual(['{"v":"bob"}', undefined, '{"v":4}']);
    });

    it('stops a pull after the row whose JSON takes the page past its byte budget', async () => {
      // UTF-8 sizes: 'é' is 2 bytes, so the rows weigh 10, 16, 10 and 10 bytes (b is 12 characters).
      await store.transaction((tx) => tx.putDocs('conversations', [
        { owner: 'alice', id: 'a', seq: 1, json: '{"v":"aa"}' },
        { owner: 'alice', id: 'b', seq: 2, json: '{"v":"éééé"}' },
        { owner: 'alice', id: 'c', seq: 3, json: '{"v":"cc"}' },
        { owner: 'alice', id: 'd', seq: 4, json: '{"v":"dd"}' },
      ]));
      const pull = (afterSeq: number, limit: number, maxBytes: number) =>
        store.read(async (r) => (await r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq, limit, maxBytes })).map((d) => d.id));
      // 10 + 16 = 26 > 24 bytes (though only 22 characters): b crosses the budget, the last row read.
      expect(await pull(0, 10, 24)).toEqual(['a', 'b']);
      // Exactly at the budget is within it, so the next row is read too (and crosses it).
      expect(await pull(0, 10, 26)).toEqual(['a', 'b', 'c']);
      // A first row larger than the budget alone still comes (a page never stalls on it).
      expect(await pull(1, 10, 5)).toEqual(['b']);
      expect(await pull(0, 2, 1_000)).toEqual(['a', 'b']);
      expect(await pull(2, 10, 1_000)).toEqual(['c', 'd']);
      const rows = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: 3, limit: 10, maxBytes: 1 }));
      expect(rows).toEqual([{ owner: 'alice', collection: 'conversations', id: 'd', seq: 4, json: '{"v":"dd"}' }]);
    });

    it('serves the rank page in list order (rank, then id), only documents in the list, at most the limit', async () => {
      const facts = (rank: number | null): ListFacts => ({ rank, unread: 0, type: 1, mute: false, groupIds: [] });
      await store.transaction((tx) => tx.putDocs('conversations', [
        { owner: 'alice', id: 'late', seq: 1, json: '{"v":"late"}', list: facts(300) },
        { owner: 'alice', id: 'pinned', seq: 2, json: '{"v":"pinned"}', list: facts(5) },
        { owner: 'alice', id: 'b-tie', seq: 3, json: '{"v":"b"}', list: facts(100) },
        { owner: 'alice', id: 'a-tie', seq: 4, json: '{"v":"a"}', list: facts(100) },
        { owner: 'alice', id: 'deleted', seq: 5, json: '{"v":"deleted"}', list: facts(null) },
        { owner: 'alice', id: 'no-facts', seq: 6, json: '{"v":"none"}' },
        { owner: 'bob', id: 'bob-top', seq: 1, json: '{"v":"bob"}', list: facts(1) },
      ]));
      await store.transaction((tx) => tx.putDocs('conversationGroups', [{ owner: 'alice', id: 'g', seq: 1, json: '{}' }]));
      const page = (limit: number) => store.read(async (r) => (await r.rankPage('alice', limit)).map((d) => [d.id, d.seq]));
      expect(await page(10)).toEqual([['pinned', 2], ['a-tie', 4], ['b-tie', 3], ['late', 1]]);
      expect(await page(2)).toEqual([['pinned', 2], ['a-tie', 4]]);
      // A rewrite moves the document: out of the list, then back at a new place.
      await store.transaction((tx) => tx.putDocs('conversations', [{ owner: 'alice', id: 'pinned', seq: 7, json: '{"v":"gone"}', list: facts(null) }]));
      await store.transaction((tx) => tx.putDocs('conversations', [{ owner: 'alice', id: 'deleted', seq: 8, json: '{"v":"back"}', list: facts(1) }]));
      const top = await store.read((r) => r.rankPage('alice', 1));
      expect(top).toEqual([{ owner: 'alice', collection: 'conversations', id: 'deleted', seq: 8, json: '{"v":"back"}' }]);
      expect(await store.read((r) => r.rankPage('carol', 10))).toEqual([]);
    });

    it('keeps each owner\'s unread totals equal to a recount of its documents through random rewrites and rollbacks', async () => {
      for (const seed of [1, 2, 3]) {
        const next = random(seed);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
        const owners = [`alice${seed}`, `bob${seed}`];
        const model = new Map<string, Map<string, ListFacts | undefined>>(owners.map((owner) => [owner, new Map()]));
        let seq = 0;
        for (let step = 0; step < 40; step++) {
          const writes = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
            const owner = pick(owners);
            const id = pick(['c1', 'c2', 'c3', 'c4', 'c5']);
            const groupIds = [...new Set([pick([[], ['g1'], ['g2'], ['g1', 'g2']])].flat())];
            const list: ListFacts | undefined = next() < 0.1 ? undefined : {
              rank: next() < 0.2 ? null : Math.floor(next() * 1000),
              unread: next() < 0.3 ? 0 : Math.floor(next() * 9),
              type: pick([1, 2, 3]),
              mute: next() < 0.3,
              groupIds,
            };
            return { owner, id, seq: ++seq, json: '{}', ...(list === undefined ? {} : { list }) };
          });
          const fail = next() < 0.15;
          const done = store.transaction(async (tx) => {
            await tx.lockLogs('conversations', owners);
            await tx.putDocs('conversations', writes);
            if (fail) throw new Error('rolled back on purpose');
          });
          if (fail) {
            await expect(done).rejects.toThrow('on purpose');
            continue;
          }
          await done;
          for (const write of writes) model.get(write.owner)?.set(write.id, write.list);
          for (const owner of owners) {
            const stored = await store.read((r) => r.unreadTotals(owner));
            expect([...stored].sort(cellOrder), `seed ${seed} step ${step} ${owner}`).toEqual(recount(model.get(owner)?.values() ?? []));
          }
        }
      }
    });

    it('rolls back everything a failed transaction wrote and runs no commit hook', async () => {
      let hooked = false;
      await expect(store.transaction(async (tx) => {
        await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
        await tx.putDocs('conversations', [{ owner: 'alice', id: 'a', seq: 1, json: '{}' }]);
        tx.afterCommit(() => { hooked = true; });
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(hooked).toBe(false);
      expect(await store.read((r) => r.currentSeq('alice', 'conversations'))).toBe(0);
      expect(await store.read((r) => r.getDocs('conversations', [{ owner: 'alice', id: 'a' }]))).toEqual([undefined]);
    });

    it('runs commit hooks after the commit, in commit order', async () => {
      const seen: string[] = [];
      await Promise.all(['one', 'two', 'three'].map((label) =>
        store.transaction(async (tx) => {
          await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
          tx.afterCommit(() => { seen.push(label); });
        })));
      expect(seen).toHaveLength(3);
      expect(new Set(seen)).toEqual(new Set(['one', 'two', 'three']));
    });

    it('never shows a reader rows of a transaction that has not committed', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let started!: () => void;
      const inside = new Promise<void>((resolve) => { started = resolve; });
      const writer = store.transaction(async (tx) => {
        await tx.putDocs('conversations', [{ owner: 'alice', id: 'a', seq: 1, json: '{}' }]);
        started();
        await gate;
      });
      await inside;
      const reader = store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: 0, limit: 10 }));
      const early = await Promise.race([reader, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 50))]);
      // A backend may either wait for the writer or read the snapshot before it: both are correct.
      if (early !== 'pending') expect(early).toEqual([]);
      release();
      await writer;
      await reader;
      const after = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: 0, limit: 10 }));
      expect(after.map((d) => d.id)).toEqual(['a']);
    });

    it('finds documents by lookup key and conversations by group', async () => {
      await store.transaction((tx) => tx.putDocs('conversations', [
        { owner: 'alice', id: 'alice|1|bob', seq: 1, target: '1|bob', json: JSON.stringify({ groupIds: ['g1', 'g2'] }) },
        { owner: 'carol', id: 'carol|1|bob', seq: 1, target: '1|bob', json: JSON.stringify({ groupIds: [] }) },
        { owner: 'alice', id: 'alice|1|dan', seq: 2, target: '1|dan', json: JSON.stringify({ groupIds: ['g2'] }) },
        { owner: 'alice', id: 'alice|2|t', seq: 3, json: JSON.stringify({ groupIds: ['g10'] }) },
      ]));
      const byTarget = await store.read((r) => r.findDocsByTarget('conversations', '1|bob'));
      expect(byTarget.map((d) => d.id).sort()).toEqual(['alice|1|bob', 'carol|1|bob']);
      const inG2 = await store.read((r) => r.findConversationsInGroup('alice', 'g2'));
      expect(inG2.map((d) => d.id).sort()).toEqual(['alice|1|bob', 'alice|1|dan']);
      const inG1 = await store.read((r) => r.findConversationsInGroup('alice', 'g1'));
      expect(inG1.map((d) => d.id)).toEqual(['alice|1|bob']);
      expect(await store.read((r) => r.findConversationsInGroup('carol', 'g2'))).toEqual([]);
    });

    it('hands out unique, increasing sort orders per owner', async () => {
      const orders = await store.transaction((tx) => tx.nextSortOrders(['alice', 'alice', 'bob', 'alice'], 1000));
      expect(orders).toEqual([1000, 1001, 1000, 1002]);
      const later = await store.transaction((tx) => tx.nextSortOrders(['alice', 'bob'], 5000));
      expect(later).toEqual([5000, 5000]);
      const behind = await store.transaction((tx) => tx.nextSortOrders(['alice'], 10));
      expect(behind).toEqual([5001]);
    });

    it('hands out strictly increasing message times per conversation, whatever the clock says', async () => {
      const times = await store.transaction(async (tx) => [
        await tx.nextMessageTime('k1', 100),
        await tx.nextMessageTime('k1', 100),
        await tx.nextMessageTime('k1', 50),
        await tx.nextMessageTime('k2', 50),
        await tx.nextMessageTime('k1', 500),
      ]);
      expect(times).toEqual([100, 101, 102, 50, 500]);
    });

    it('stores messages once per client id, lists them newest first and counts unread', async () => {
      await store.transaction(async (tx) => {
        await tx.insertMessage(message({ messageServerId: 'm1', createTime: 10, senderId: 'alice' }));
        await tx.insertMessage(message({ messageServerId: 'm2', createTime: 20, senderId: 'bob' }));
        await tx.insertMessage(message({ messageServerId: 'm3', createTime: 30, senderId: 'bob' }));
        await tx.insertMessage(message({ messageServerId: 'm4', createTime: 40, senderId: 'alice' }));
        await tx.insertMessage(message({ messageServerId: 'x1', createTime: 15, conversationKey: 'other' }));
      });
      await expect(store.transaction((tx) =>
        tx.insertMessage(message({ messageServerId: 'm9', createTime: 50, clientMessageId: 'c-m1' })))).rejects.toThrow();
      const found = await store.read((r) => r.findMessageByClientId('alice', 'c-m1'));
      expect(found?.messageServerId).toBe('m1');
      expect(await store.read((r) => r.findMessageByClientId('bob', 'c-m1'))).toBeUndefined();
      const newest = await store.read((r) => r.listMessages({ conversationKey: 'p2p:alice|bob', after: 0, limit: 2 }));
      expect(newest.map((m) => m.messageServerId)).toEqual(['m4', 'm3']);
      const older = await store.read((r) => r.listMessages({ conversationKey: 'p2p:alice|bob', after: 10, before: 30, limit: 10 }));
      expect(older.map((m) => m.messageServerId)).toEqual(['m2']);
      expect(older[0]).toMatchObject({ senderId: 'bob', createTime: 20, clientMessageId: 'c-m2', conversationKey: 'p2p:alice|bob' });
      expect(await store.read((r) => r.countUnread({ conversationKey: 'p2p:alice|bob', after: 0, reader: 'alice' }))).toBe(2);
      expect(await store.read((r) => r.countUnread({ conversationKey: 'p2p:alice|bob', after: 20, reader: 'alice' }))).toBe(1);
      expect(await store.read((r) => r.countUnread({ conversationKey: 'p2p:alice|bob', after: 0, reader: 'bob' }))).toBe(2);
    });

    it('keeps user profiles, changing only the fields given', async () => {
      await store.transaction((tx) => tx.upsertUser({ accountId: 'bob', name: 'Bob' }));
      const updated = await store.transaction((tx) => tx.upsertUser({ accountId: 'bob', avatar: 'https://a/b.png' }));
      expect(updated).toEqual({ accountId: 'bob', name: 'Bob', avatar: 'https://a/b.png' });
      const users = await store.read((r) => r.getUsers(['bob', 'nobody']));
      expect(users).toEqual([{ accountId: 'bob', name: 'Bob', avatar: 'https://a/b.png' }]);
    });

    it('keeps teams and replaces their member lists', async () => {
      await store.transaction((tx) => tx.putTeam({ teamId: 't1', name: 'Team', superTeam: false, memberIds: ['bob', 'alice'] }));
      expect(await store.read((r) => r.getTeam('t1'))).toEqual({ teamId: 't1', name: 'Team', superTeam: false });
      expect(await store.read((r) => r.getTeamMembers('t1'))).toEqual(['alice', 'bob']);
      await store.transaction((tx) => tx.putTeam({ teamId: 't1', name: 'Renamed', superTeam: true, memberIds: ['carol', 'alice'] }));
      expect(await store.read((r) => r.getTeam('t1'))).toEqual({ teamId: 't1', name: 'Renamed', superTeam: true });
      expect(await store.read((r) => r.isTeamMember('t1', 'bob'))).toBe(false);
      expect(await store.read((r) => r.isTeamMember('t1', 'carol'))).toBe(true);
      expect(await store.read((r) => r.getTeam('nope'))).toBeUndefined();
    });

    it('answers a ping while open, also during a running transaction', async () => {
      await store.ping();
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => { release = resolve; });
      const running = store.transaction(async (tx) => {
        await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
        await held;
      });
      await store.ping();
      release();
      await running;
    });

    it('refuses work once closed', async () => {
      await store.close();
      await expect(store.read((r) => r.currentSeq('alice', 'conversations'))).rejects.toThrow();
      await expect(store.ping()).rejects.toThrow();
    });
  });
}
