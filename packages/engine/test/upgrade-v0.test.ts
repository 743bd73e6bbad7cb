/**
 * A replica written by the v0 engine (schema version 0, replicated by RxDB's replication plugin;
 * test/fixtures/replica-v0.json, written by scripts/make-replica-v0-fixture.ts on that engine)
 * opened by today's engine: the schema migration runs, the unpushed pin and the unsent message it
 * holds are both delivered exactly once, and the pull goes on from the stored checkpoint instead
 * of starting over.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import type { RxStorage } from 'rxdb';
import { startServer, type ConvSyncServer } from '@convsync/server';
import type { Checkpoint, SessionEndpoint } from '@convsync/protocol';
import { createConversationEngine, InMemoryTransport, type ConversationEngine, type Transport } from '../src/index.js';
import { closeAll, interceptRequests, synced, track, uniqueName, inMemoryDevice } from './engine.helpers.js';
import { waitFor } from './services.helpers.js';

interface Fixture {
  deviceId: string;
  sends: { from: string; text: string }[];
  instances: { collectionName: string; schema: unknown; rows: Record<string, unknown>[] }[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/replica-v0.json', import.meta.url), 'utf8')) as Fixture;

/** Writes the fixture's rows into `storage` under `databaseName`, as the v0 engine had stored them. */
async function loadFixture(storage: RxStorage<unknown, unknown>, databaseName: string): Promise<void> {
  for (const dumped of fixture.instances) {
    const instance = await storage.createStorageInstance({
      databaseName,
      collectionName: dumped.collectionName,
      schema: dumped.schema as never,
      options: {},
      multiInstance: false,
      devMode: false,
      databaseInstanceToken: 'fixture-loader',
    });
    if (dumped.rows.length > 0) {
      const result = await instance.bulkWrite(dumped.rows.map((row) => ({ document: row as never })), 'fixture');
      expect(result.error).toEqual([]);
    }
    await instance.close();
  }
}

let server: ConvSyncServer | undefined;

afterEach(async () => {
  await closeAll();
  await server?.close();
  server = undefined;
});

const dexieSettings: Record<string, unknown> = { indexedDB, IDBKeyRange };
const storages: [string, () => { storage: RxStorage<unknown, unknown>; engine: Record<string, unknown> }][] = [
  ['memory', () => {
    const storage = getRxStorageMemory() as RxStorage<unknown, unknown>;
    return { storage, engine: { storage } };
  }],
  ['dexie', () => ({
    storage: getRxStorageDexie(dexieSettings),
    engine: { storage: 'dexie', indexedDB, IDBKeyRange },
  })],
];

describe.each(storages)('a replica written by the v0 engine (%s)', (_kind, makeStorage) => {
  it('migrates to the current schema and delivers its unpushed edit and unsent message exactly once, pulling on from its checkpoint', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    // The server's log as it stood when the replica was written, then one change since.
    for (const send of fixture.sends) await server.sendMessage({ from: send.from, conversationType: 1, targetId: 'alice', text: send.text });
    await server.sendMessage({ from: 'u9', conversationType: 1, targetId: 'alice', text: 'while the device was away' });
    const live = server;
    const { storage, engine: storageOptions } = makeStorage();
    const databaseName = uniqueName('v0');
    await loadFixture(storage, databaseName);

    const token = await live.issueToken('alice');
    const pulledFrom: (Checkpoint | null)[] = [];
    let pushedRows = 0;
    const open = async (): Promise<ConversationEngine> => track(await createConversationEngine({
      token,
      databaseName,
      ...storageOptions,
      transport: ({ deviceId, now }): Transport => {
        const inner: Transport = new InMemoryTransport({ open: (): Promise<SessionEndpoint> => live.connectInProcess(token, { deviceId }), now });
        return interceptRequests(inner, (event, payload, options) => {
          const request = payload as { collection?: string; checkpoint?: Checkpoint | null; rows?: unknown[] };
          if (event === 'sync:pull' && request.collection === 'conversations') pulledFrom.push(request.checkpoint ?? null);
          if (event === 'sync:push' && request.collection === 'conversations') pushedRows += request.rows?.length ?? 0;
          return inner.request(event, payload, options);
        });
      },
    }));

    const engine = await open();
    expect(engine.deviceId).toBe(fixture.deviceId);
    // The replica as the v0 engine left it, before any network: the pin and the pending message.
    expect((await engine.conversationService.getConversation('alice|1|u2')).stickTop).toBe(true);
    await synced(engine);
    await waitFor(engine.conversationService.conversation$('alice|1|u9'), (c) => c?.lastMessage?.text === 'while the device was away');
    // No full resync: the first pull started at the v0 checkpoint (the five sends), not from null.
    expect(pulledFrom[0]).toEqual({ seq: fixture.sends.length });
    expect(pulledFrom).not.toContain(null);
    // Only the edited conversation was pushed (the v0 replication had pushed nothing after it).
    expect(pushedRows).toBe(1);

    // Delivered: another device of the account sees the pin, the server holds the message once.
    const other = await inMemoryDevice(live, 'alice');
    await waitFor(other.conversationService.conversation$('alice|1|u2'), (c) => c?.stickTop === true);
    const texts = async (): Promise<string[]> =>
      (await other.messageService.getMessageList('alice|1|u3', { limit: 100 })).map((message) => message.text);
    expect((await texts()).filter((text) => text === 'written offline')).toHaveLength(1);

    // A restart sends and pushes nothing again.
    await engine.close();
    const reopened = await open();
    await synced(reopened);
    expect(pushedRows).toBe(1);
    expect((await texts()).filter((text) => text === 'written offline')).toHaveLength(1);
    expect(await reopened.messageService.getMessageList('alice|1|u3', { limit: 100 })).toHaveLength(2);
  });
});
