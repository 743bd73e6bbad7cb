/**
 * changedSince (src/replica/changes.ts): the documents written after a storage checkpoint, read as
 * index ranges. It must page exactly as RxDB's getChangedDocumentsSince does — a whole bulk shares
 * one `lwt`, so a page boundary can fall inside one millisecond — and never scan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getChangedDocumentsSince, type PreparedQuery, type RxStorageDefaultCheckpoint } from 'rxdb';
import { emptyConversation, normalizeConversation, type ConversationDoc } from '@convsync/protocol';
import { changedSince } from '../src/replica/changes.js';
import { openReplica, type ReplicaOptions } from '../src/replica/database.js';
import type { Replica } from '../src/replica/types.js';

const open: Replica[] = [];
let counter = 0;

afterEach(async () => {
  for (const replica of open.splice(0)) await replica.close();
});

const idOf = (i: number): string => `alice|1|c${String(i).padStart(4, '0')}`;

function conversation(i: number): ConversationDoc & { dirty: number } {
  return { ...normalizeConversation(emptyConversation({ conversationId: idOf(i), now: 1_700_000_000_000 + i })), dirty: 0 };
}

/** Every page from the start, as ids, and the checkpoint after each. */
async function pages(read: (checkpoint: RxStorageDefaultCheckpoint | undefined) => Promise<{ documents: { conversationId: string }[]; checkpoint: unknown }>): Promise<string[][]> {
  const all: string[][] = [];
  let checkpoint: RxStorageDefaultCheckpoint | undefined;
  for (;;) {
    const page = await read(checkpoint);
    if (page.documents.length === 0) return all;
    all.push(page.documents.map((d) => d.conversationId));
    checkpoint = page.checkpoint as RxStorageDefaultCheckpoint;
  }
}

describe.each<[string, Omit<ReplicaOptions, 'name'>]>([
  ['memory', { storage: 'memory' }],
  ['dexie', { storage: 'dexie', indexedDB, IDBKeyRange }],
])('changedSince on %s', (_label, storage) => {
  it('pages exactly as RxDB\'s getChangedDocumentsSince, across bulks sharing one lwt, deleted documents included', async () => {
    const replica = await openReplica({ name: `changes${process.pid}x${++counter}x${Date.now()}`, ...storage });
    open.push(replica);
    const collection = replica.conversations;
    // Three bulks (each one lwt), then single writes: an update and a deletion move documents to the end.
    await collection.bulkInsert(Array.from({ length: 25 }, (_, i) => conversation(i)));
    await collection.bulkInsert(Array.from({ length: 12 }, (_, i) => conversation(100 + i)));
    await collection.bulkInsert(Array.from({ length: 7 }, (_, i) => conversation(200 + i)));
    await (await collection.findOne(idOf(3)).exec())?.incrementalPatch({ mute: true });
    await (await collection.findOne(idOf(104)).exec())?.remove();

    for (const limit of [1, 4, 10, 25, 100]) {
      const ours = await pages((checkpoint) => changedSince(collection, limit, checkpoint));
      const rxdb = await pages((checkpoint) => getChangedDocumentsSince(collection.storageInstance, limit, checkpoint));
      expect(ours).toEqual(rxdb);
      expect(ours.flat()).toHaveLength(44);
      expect(ours.flat().slice(-2)).toEqual([idOf(3), idOf(104)]);
    }
    const end = await changedSince(collection, 100, undefined);
    expect(await changedSince(collection, 100, end.checkpoint)).toEqual({ documents: [], checkpoint: end.checkpoint });
  });

  it('reads each part as a range of the [_meta.lwt, id] index, with no document tested by a matcher', async () => {
    const replica = await openReplica({ name: `changes${process.pid}x${++counter}x${Date.now()}`, ...storage });
    open.push(replica);
    const collection = replica.conversations;
    await collection.bulkInsert(Array.from({ length: 5 }, (_, i) => conversation(i)));
    const storageInstance = collection.storageInstance;
    const query = storageInstance.query.bind(storageInstance);
    const plans: PreparedQuery<ConversationDoc>['queryPlan'][] = [];
    storageInstance.query = (prepared) => {
      plans.push(prepared.queryPlan);
      return query(prepared);
    };
    const first = await changedSince(collection, 3, undefined);
    await changedSince(collection, 3, first.checkpoint);
    expect(plans).toHaveLength(3);
    for (const plan of plans) {
      expect(plan.index).toEqual(['_meta.lwt', 'conversationId']);
      expect(plan.selectorSatisfiedByIndex).toBe(true);
      expect(plan.sortSatisfiedByIndex).toBe(true);
    }
  });
});
