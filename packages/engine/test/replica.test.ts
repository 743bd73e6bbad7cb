/**
 * The replica on both storages the engine offers in Node: RxDB memory, and Dexie over
 * fake-indexeddb (what browsers run on IndexedDB). Four collections, the device id generated once
 * and kept, device-local values kept across reopen, and the list read ascending by `rank`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { emptyConversation, normalizeConversation, type ConversationDoc } from '@convsync/protocol';
import { databaseNameFor, openReplica, type ReplicaOptions } from '../src/replica/database.js';
import type { Replica } from '../src/replica/types.js';

const open: Replica[] = [];
afterEach(async () => {
  for (const replica of open.splice(0)) await replica.close();
});

let counter = 0;
function uniqueName(): string {
  return `replica-test-${process.pid}-${Date.now()}-${++counter}`;
}

const storages: [string, Omit<ReplicaOptions, 'name'>][] = [
  ['memory', { storage: 'memory' }],
  ['dexie over fake-indexeddb', { storage: 'dexie', indexedDB, IDBKeyRange }],
];

async function openTracked(options: ReplicaOptions): Promise<Replica> {
  const replica = await openReplica(options);
  open.push(replica);
  return replica;
}

async function closeTracked(replica: Replica): Promise<void> {
  open.splice(open.indexOf(replica), 1);
  await replica.close();
}

function conversation(id: string, options: { stickTop?: boolean; sortOrder: number }): ConversationDoc {
  const doc = emptyConversation({ conversationId: id, now: options.sortOrder });
  return normalizeConversation({ ...doc, stickTop: options.stickTop ?? false, clock: { ...doc.clock, stickTop: options.stickTop === true ? '000000000000001-000000-d' : '' } });
}

describe.each(storages)('replica on %s', (_label, storage) => {
  it('opens the four collections and generates a device id once', async () => {
    const name = uniqueName();
    const first = await openTracked({ name, ...storage });
    expect(Object.keys(first.database.collections).sort()).toEqual(['conversationGroups', 'conversations', 'localExtensions', 'outbox']);
    expect(first.deviceId).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
    const deviceId = first.deviceId;
    await first.setMeta('clockOffsetMs', 86_400_000);
    await closeTracked(first);

    const again = await openTracked({ name, ...storage, deviceId: 'ignored-because-stored' });
    expect(again.deviceId).toBe(deviceId);
    expect(await again.getMeta('clockOffsetMs')).toBe(86_400_000);
    expect(await again.getMeta('absent')).toBeUndefined();
  });

  it('records the device id it is given when the replica has none', async () => {
    const replica = await openTracked({ name: uniqueName(), ...storage, deviceId: 'phone-1' });
    expect(replica.deviceId).toBe('phone-1');
  });

  it('keeps conversations across reopen and lists them ascending by rank: pinned first, then newest first', async () => {
    const name = uniqueName();
    const replica = await openTracked({ name, ...storage });
    await replica.conversations.bulkInsert([
      conversation('me|1|old', { sortOrder: 1000 }),
      conversation('me|1|new', { sortOrder: 3000 }),
      conversation('me|1|pinned-old', { sortOrder: 500, stickTop: true }),
      conversation('me|2|mid', { sortOrder: 2000 }),
    ]);
    await closeTracked(replica);
    const reopened = await openTracked({ name, ...storage });
    const docs = await reopened.conversations.find({ sort: [{ rank: 'asc' }] }).exec();
    expect(docs.map((d) => d.conversationId)).toEqual(['me|1|pinned-old', 'me|1|new', 'me|2|mid', 'me|1|old']);
  });

  it('stores a tombstone as a deleted document, hidden from queries', async () => {
    const replica = await openTracked({ name: uniqueName(), ...storage });
    const doc = conversation('me|1|gone', { sortOrder: 10 });
    await replica.conversations.insert(doc);
    await replica.conversations.findOne('me|1|gone').exec().then((d) => d?.remove());
    expect(await replica.conversations.find().exec()).toEqual([]);
    const raw = await replica.conversations.storageInstance.findDocumentsById(['me|1|gone'], true);
    expect(raw[0]?._deleted).toBe(true);
  });
});

describe('databaseNameFor', () => {
  it('derives a valid RxDB name from account and device, distinct per device', () => {
    const a = databaseNameFor('Alice.Smith@x', 'd1');
    const b = databaseNameFor('Alice.Smith@x', 'd2');
    expect(a).toMatch(/^[a-z][a-z0-9_$()+/-]*$/);
    expect(a).not.toBe(b);
    expect(databaseNameFor('alice')).not.toBe(databaseNameFor('Alice'));
  });
});
