/**
 * The downstream guard (replica/monotone-downstream.ts): RxDB's downstream stores the master state
 * that arrives last; the guard stores the join with what the fork holds, so a state that left the
 * server earlier but arrives later never takes a document back (engine soak: a read time that went
 * back to 0 in the list for a moment).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { Subject } from 'rxjs';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import type { RxReplicationPullStreamItem } from 'rxdb';
import { emptyConversation, mergeConversation, normalizeConversation, type ConversationDoc } from '@convsync/protocol';
import { openReplica, type ReplicaOptions } from '../src/replica/database.js';
import { raiseDownstreamRow } from '../src/replica/monotone-downstream.js';
import type { Replica } from '../src/replica/types.js';

const ID = 'alice|1|bob';
const open: { replica: Replica; replication: RxReplicationState<ConversationDoc, unknown> }[] = [];
afterEach(async () => {
  for (const { replica, replication } of open.splice(0)) {
    await replication.cancel();
    await replica.close();
  }
});

let counter = 0;
const uniqueName = () => `monotone-test-${process.pid}-${Date.now()}-${++counter}`;

/** The server's state after a message arrived (unread 1), and after the device read it (read time 5000). */
function serverStates(): { older: ConversationDoc; newer: ConversationDoc } {
  const base = emptyConversation({ conversationId: ID, now: 1000 });
  const older = normalizeConversation({ ...base, serverRev: 1, unreadCount: 1, updateTime: 2000 });
  const newer = normalizeConversation({ ...older, serverRev: 2, unreadCount: 0, lastReadTime: 5000, updateTime: 5000 });
  return { older, newer };
}

describe('raiseDownstreamRow', () => {
  const meta = { _meta: { lwt: 1 }, _rev: '2-abc', _attachments: {} };

  it('passes a newer master state through as the same row', () => {
    const { older, newer } = serverStates();
    const row = { previous: { ...older, ...meta }, document: { ...newer, ...meta } };
    expect(raiseDownstreamRow(row, mergeConversation as never)).toBe(row);
  });

  it('stores the join when the master state is older than the fork, keeping the revision RxDB gave the row', () => {
    const { older, newer } = serverStates();
    const row = { previous: { ...newer, ...meta, _rev: '1-abc' }, document: { ...older, ...meta } };
    const raised = raiseDownstreamRow(row, mergeConversation as never);
    expect(raised.document).toEqual({ ...mergeConversation(newer, older), ...meta });
    expect(raised.document.lastReadTime).toBe(5000);
    expect(raised.previous).toBe(row.previous);
  });

  it('passes an insert through', () => {
    const row = { document: { ...serverStates().older, ...meta } };
    expect(raiseDownstreamRow(row, mergeConversation as never)).toBe(row);
  });
});

const storages: [string, Omit<ReplicaOptions, 'name'>][] = [
  ['memory', { storage: 'memory' }],
  ['dexie over fake-indexeddb', { storage: 'dexie', indexedDB, IDBKeyRange }],
];

describe.each(storages)('RxDB replication into a replica on %s', (_label, storage) => {
  it('a master state that arrives after a newer one does not take the document back', async () => {
    const replica = await openReplica({ name: uniqueName(), ...storage });
    const pushed: ConversationDoc[] = [];
    const stream$ = new Subject<RxReplicationPullStreamItem<ConversationDoc, unknown>>();
    const replication = replicateRxCollection<ConversationDoc, unknown>({
      replicationIdentifier: 'monotone-test',
      collection: replica.conversations as never,
      live: true,
      waitForLeadership: false,
      pull: { handler: async () => ({ documents: [], checkpoint: null }), stream$ },
      push: {
        handler: async (rows) => {
          pushed.push(...rows.map((row) => row.newDocumentState));
          return [];
        },
      },
    });
    open.push({ replica, replication: replication });
    await replication.awaitInitialReplication();

    const seen: number[] = [];
    const subscription = replica.conversations.findOne(ID).$.subscribe((doc) => {
      if (doc !== null) seen.push((doc.toJSON() as ConversationDoc).lastReadTime);
    });
    const { older, newer } = serverStates();
    stream$.next({ documents: [newer], checkpoint: { seq: 2 } });
    await replication.awaitInSync();
    stream$.next({ documents: [older], checkpoint: { seq: 1 } });
    await replication.awaitInSync();
    subscription.unsubscribe();

    const stored = (await replica.conversations.findOne(ID).exec())?.toJSON() as ConversationDoc;
    expect(stored.lastReadTime).toBe(5000);
    expect(stored.unreadCount).toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((readTime) => readTime === 5000)).toBe(true);
    expect(pushed).toEqual([]);

    // RxDB stays in step with the master: a newer state is stored, a local edit is pushed.
    const newest = normalizeConversation({ ...newer, serverRev: 3, name: 'Bob', updateTime: 7000 });
    stream$.next({ documents: [newest], checkpoint: { seq: 3 } });
    await replication.awaitInSync();
    expect(((await replica.conversations.findOne(ID).exec())?.toJSON() as ConversationDoc).name).toBe('Bob');
    await (await replica.conversations.findOne(ID).exec())?.incrementalPatch({ lastReadTime: 8000 });
    await replication.awaitInSync();
    expect(pushed.map((doc) => [doc.lastReadTime, doc.serverRev])).toEqual([[8000, 3]]);
  });
});
