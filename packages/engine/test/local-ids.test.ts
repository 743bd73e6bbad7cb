/**
 * LocalIds (src/replication/local-ids.ts): during a pull from the log's start, which of a page's
 * documents the collection surely does not hold, so they are stored without a read. Wrong in one
 * direction only would lose data (an insert over a document it never read), so every test checks
 * that an id the collection holds is never called absent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { emptyConversation, normalizeConversation, type ConversationDoc } from '@convsync/protocol';
import { openReplica, type ReplicaOptions } from '../src/replica/database.js';
import type { Replica } from '../src/replica/types.js';
import { LOCAL_IDS_LIMIT, LocalIds } from '../src/replication/local-ids.js';

const open: Replica[] = [];
let counter = 0;

afterEach(async () => {
  for (const replica of open.splice(0)) await replica.close();
});

async function replicaOn(options: Omit<ReplicaOptions, 'name'>, name = `localids${process.pid}x${++counter}x${Date.now()}`): Promise<Replica> {
  const replica = await openReplica({ name, ...options });
  open.push(replica);
  return replica;
}

const idOf = (i: number): string => `alice|1|peer${String(i).padStart(5, '0')}`;

function conversation(i: number, deleted = false): ConversationDoc & { dirty: number } {
  const doc = normalizeConversation(emptyConversation({ conversationId: idOf(i), now: 1_700_000_000_000 + i }));
  return { ...doc, _deleted: deleted, dirty: 0 };
}

describe.each<[string, Omit<ReplicaOptions, 'name'>]>([
  ['memory', { storage: 'memory' }],
  ['dexie', { storage: 'dexie', indexedDB, IDBKeyRange }],
])('local ids on %s', (_label, storage) => {
  it('calls absent only the ids the collection does not hold, deleted documents counting as held', async () => {
    const replica = await replicaOn(storage);
    await replica.conversations.bulkInsert([conversation(1), conversation(2, true)]);
    const ids = new LocalIds(replica.conversations);
    await ids.track();
    expect([...await ids.absent([idOf(1), idOf(2), idOf(3), idOf(4)])].sort()).toEqual([idOf(3), idOf(4)]);
    ids.stop();
  });

  it('learns the documents written after it started, by anyone', async () => {
    const replica = await replicaOn(storage);
    const ids = new LocalIds(replica.conversations);
    await ids.track();
    await replica.conversations.insert(conversation(5));
    ids.stored([idOf(6)]);
    await replica.conversations.insert(conversation(6));
    expect([...await ids.absent([idOf(5), idOf(6), idOf(7)])]).toEqual([idOf(7)]);
    ids.stop();
  });

  it('calls nothing absent above its limit, or once stopped', async () => {
    const replica = await replicaOn(storage);
    await replica.conversations.bulkInsert(Array.from({ length: LOCAL_IDS_LIMIT + 1 }, (_, i) => conversation(i)));
    const ids = new LocalIds(replica.conversations);
    await ids.track();
    expect((await ids.absent([idOf(LOCAL_IDS_LIMIT + 5)])).size).toBe(0);

    const small = new LocalIds((await replicaOn(storage)).conversations);
    await small.track();
    expect((await small.absent([idOf(1)])).size).toBe(1);
    small.stop();
    expect((await small.absent([idOf(1)])).size).toBe(0);
  });
});

describe('local ids with a write it has not heard of', () => {
  it('calls nothing absent while the collection holds a document whose change event has not reached it', async () => {
    // A second storage instance on the same IndexedDB database: its writes reach the collection's
    // storage but never the collection's change events — a tab's write still on its way.
    const replica = await replicaOn({ storage: 'dexie', indexedDB, IDBKeyRange });
    const collection = replica.conversations;
    const dexieSettings: Record<string, unknown> = { indexedDB, IDBKeyRange };
    const other = await getRxStorageDexie(dexieSettings).createStorageInstance({
      databaseInstanceToken: 'another-tab',
      databaseName: replica.database.name,
      collectionName: collection.name,
      schema: collection.schema.jsonSchema,
      options: {},
      multiInstance: false,
      devMode: false,
    });
    try {
      const ids = new LocalIds(collection);
      await ids.track();
      expect([...await ids.absent([idOf(8), idOf(9)])].sort()).toEqual([idOf(8), idOf(9)]);
      const written = await other.bulkWrite([{ document: { ...conversation(8), _attachments: {}, _meta: { lwt: Date.now() }, _rev: '1-another' } }], 'test');
      expect(written.error).toEqual([]);
      expect(await collection.findOne(idOf(8)).exec()).not.toBeNull();
      expect((await ids.absent([idOf(8), idOf(9)])).size).toBe(0);
      ids.stop();
    } finally {
      await other.close();
    }
  });
});
