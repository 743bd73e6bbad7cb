/**
 * A replica of schema 1 — the engine whose conversations had an index on `dirty` — opened by
 * today's engine (conversations at schema 2, the marks found through the unread index): the
 * migration keeps every conversation and the mark of an edit left unpushed, which is pushed once,
 * and the pull goes on from the stored checkpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRxDatabase, type RxJsonSchema, type RxStorage } from 'rxdb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { startServer, type ConvSyncServer } from '@convsync/server';
import type { Checkpoint, ConversationDoc, SessionEndpoint } from '@convsync/protocol';
import { EngineClock } from '../src/clock.js';
import { stickTopEdit } from '../src/edits/conversation.js';
import { createConversationEngine, InMemoryTransport, type Transport } from '../src/index.js';
import { openReplica } from '../src/replica/database.js';
import { nextEpoch } from '../src/replica/dirty.js';
import { conversationGroupSchema, conversationSchema, localExtensionSchema, outboxSchema } from '../src/replica/schema.js';
import { checkpointKey } from '../src/replica/types.js';
import { startSync } from '../src/replication/sync.js';
import { openUnreadIndex } from '../src/services/index.js';
import { closeAll, inMemoryDevice, interceptRequests, synced, track, uniqueName } from './engine.helpers.js';
import { waitFor } from './services.helpers.js';

/** The conversations' schema as version 1 had it: `dirty` indexed. */
const conversationSchemaV1 = { ...conversationSchema, version: 1, indexes: ['rank', 'dirty'] } as unknown as RxJsonSchema<unknown>;

let server: ConvSyncServer | undefined;

afterEach(async () => {
  await closeAll();
  await server?.close();
  server = undefined;
});

/** The account's conversations as a synced replica stores them (dirty 0), and its checkpoint. */
async function syncedDocs(live: ConvSyncServer, token: string): Promise<{ docs: (ConversationDoc & { dirty: number })[]; checkpoint: Checkpoint }> {
  const replica = await openReplica({ name: uniqueName('v1-source'), storage: 'memory' });
  const transport = new InMemoryTransport({ open: (): Promise<SessionEndpoint> => live.connectInProcess(token, { deviceId: replica.deviceId }) });
  const index = openUnreadIndex({ replica, onError: () => undefined });
  const sync = startSync({ replica, transport, clock: new EngineClock({ deviceId: replica.deviceId }), reportError: () => undefined, conversationMarks: index });
  transport.connect();
  await sync.awaitInSync();
  const docs = (await replica.conversations.find().exec()).map((doc) => doc.toMutableJSON() as ConversationDoc & { dirty: number });
  const checkpoint = await replica.getMeta(checkpointKey('conversations')) as Checkpoint;
  await sync.cancel();
  await index.dispose();
  transport.close();
  await replica.close();
  return { docs, checkpoint };
}

describe('a replica of schema 1 (conversations indexed on dirty)', () => {
  it('migrates to schema 2 keeping every conversation, pushes its unpushed pin once and pulls on from its checkpoint', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    for (const from of ['u0', 'u1', 'u2']) await server.sendMessage({ from, conversationType: 1, targetId: 'alice', text: `hello from ${from}` });
    const live = server;
    const token = await live.issueToken('alice');
    const { docs, checkpoint } = await syncedDocs(live, token);
    expect(docs).toHaveLength(3);
    await live.sendMessage({ from: 'u9', conversationType: 1, targetId: 'alice', text: 'while the device was away' });

    // The replica as schema 1 stored it, with u1 pinned offline (marked dirty, not pushed).
    const storage = getRxStorageMemory() as RxStorage<unknown, unknown>;
    const databaseName = uniqueName('v1');
    const deviceId = 'dv1device';
    const pinned = 'alice|1|u1';
    const edit = stickTopEdit(new EngineClock({ deviceId }), true);
    const stored = docs.map((doc) => {
      if (doc.conversationId !== pinned) return doc;
      const { dirty: _dirty, ...plain } = doc;
      return { ...(edit(plain, pinned) as ConversationDoc), dirty: nextEpoch(0) };
    });
    const v1 = await createRxDatabase({ name: databaseName, storage, multiInstance: false, localDocuments: true });
    const collections = await v1.addCollections({
      conversations: { schema: conversationSchemaV1 },
      conversationGroups: { schema: conversationGroupSchema as RxJsonSchema<unknown> },
      localExtensions: { schema: localExtensionSchema as RxJsonSchema<unknown> },
      outbox: { schema: outboxSchema as RxJsonSchema<unknown> },
    });
    await collections.conversations.bulkInsert(stored);
    await v1.insertLocal('deviceId', { value: deviceId });
    await v1.insertLocal(checkpointKey('conversations'), { value: checkpoint });
    await v1.close();

    const pulledFrom: (Checkpoint | null)[] = [];
    let pushedRows = 0;
    const engine = track(await createConversationEngine({
      token,
      databaseName,
      storage,
      transport: ({ deviceId: id, now }): Transport => {
        const inner: Transport = new InMemoryTransport({ open: (): Promise<SessionEndpoint> => live.connectInProcess(token, { deviceId: id }), now });
        return interceptRequests(inner, (event, payload, options) => {
          const request = payload as { collection?: string; checkpoint?: Checkpoint | null; rows?: unknown[] };
          if (event === 'sync:pull' && request.collection === 'conversations') pulledFrom.push(request.checkpoint ?? null);
          if (event === 'sync:push' && request.collection === 'conversations') pushedRows += request.rows?.length ?? 0;
          return inner.request(event, payload, options);
        });
      },
    }));
    expect(engine.deviceId).toBe(deviceId);
    // Before any network: every conversation and the pin, as schema 1 held them.
    const before = await engine.conversationService.getConversationList(0, 10);
    expect(before.conversationList.map((c) => c.conversationId).sort()).toEqual(docs.map((d) => d.conversationId).sort());
    expect((await engine.conversationService.getConversation(pinned)).stickTop).toBe(true);

    await synced(engine);
    await waitFor(engine.conversationService.conversation$('alice|1|u9'), (c) => c?.lastMessage?.text === 'while the device was away');
    expect(pulledFrom[0]).toEqual(checkpoint);
    expect(pulledFrom).not.toContain(null);
    expect(pushedRows).toBe(1);
    const other = await inMemoryDevice(live, 'alice');
    await waitFor(other.conversationService.conversation$(pinned), (c) => c?.stickTop === true);
  });
});
