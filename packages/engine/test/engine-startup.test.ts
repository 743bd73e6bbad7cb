/**
 * A fresh device's start: the connection opens while the services are still opening (the sync
 * holds it until they are ready), and the bootstrap stores the final checkpoint itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, filter } from 'rxjs';
import { startServer, type ConvSyncServer } from '@convsync/server';
import type { Checkpoint, SessionEndpoint } from '@convsync/protocol';
import { EngineClock } from '../src/clock.js';
import { openReplica } from '../src/replica/database.js';
import type { Replica } from '../src/replica/types.js';
import { stickTopEdit } from '../src/edits/conversation.js';
import { applyEdits } from '../src/edits/write.js';
import { openUnreadIndex } from '../src/services/index.js';
import { snapshotRows, type UnreadIndex } from '../src/views/unread-index.js';
import { startSync, type Sync } from '../src/replication/sync.js';
import { InMemoryTransport, type Transport } from '../src/index.js';
import { closeAll, inMemoryDevice, interceptRequests, uniqueName } from './engine.helpers.js';

let server: ConvSyncServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await closeAll();
  await server?.close();
  server = undefined;
});

async function seeded(count: number): Promise<ConvSyncServer> {
  server = await startServer({ database: ':memory:', port: 0 });
  for (let i = 0; i < count; i++) await server.sendMessage({ from: `u${i}`, conversationType: 1, targetId: 'alice', text: `hello ${i}` });
  return server;
}

/** Requests as `event` or `event:rank` (the first page), in the order sent. */
function recording(inner: Transport, requests: string[]): Transport {
  return interceptRequests(inner, (event, payload, options) => {
    requests.push((payload as { order?: string }).order === 'rank' ? `${event}:rank` : event);
    return inner.request(event, payload, options);
  });
}

interface HeldDevice {
  replica: Replica;
  /** The transport under the recording one (its state is the connection's). */
  inner: Transport;
  transport: Transport;
  sync: Sync;
  index: UnreadIndex;
  close(): Promise<void>;
  /** Stops without the unread index's last snapshot and closing mark, as a crash would. */
  crash(): Promise<void>;
}

/** A device of alice on `live`: its replica `name`, a recording transport, a held sync. */
async function heldDevice(live: ConvSyncServer, name: string, requests: string[], reportError: (error: unknown) => void = () => undefined): Promise<HeldDevice> {
  const token = await live.issueToken('alice');
  const replica: Replica = await openReplica({ name, storage: 'memory' });
  const inner: Transport = new InMemoryTransport({ open: (): Promise<SessionEndpoint> => live.connectInProcess(token, { deviceId: replica.deviceId }) });
  const transport = recording(inner, requests);
  // The conversations' dirty marks are found in the unread index (replica/dirty.ts).
  const index = openUnreadIndex({ replica, onError: reportError, unreadSnapshotDelayMs: 20 });
  const sync: Sync = startSync({ replica, transport, clock: new EngineClock({ deviceId: replica.deviceId }), reportError, held: true, conversationMarks: index });
  return {
    replica,
    inner,
    transport,
    sync,
    index,
    async close() {
      await sync.cancel();
      await index.dispose();
      transport.close();
      await replica.close();
    },
    async crash() {
      await sync.cancel();
      transport.close();
      await replica.close();
    },
  };
}

/** `heldDevice`, connected and released, once it is synced. */
async function syncedDevice(live: ConvSyncServer, name: string, requests: string[]): Promise<HeldDevice> {
  const device = await heldDevice(live, name, requests);
  device.transport.connect();
  device.sync.release();
  await device.sync.awaitInSync();
  return device;
}

describe('a sync that is held', () => {
  it('does not store, push or report anything on an online connection until released (it only asks for a fresh replica\'s first page), then syncs a macrotask later', async () => {
    const live = await seeded(5);
    const requests: string[] = [];
    const device = await heldDevice(live, uniqueName('held'), requests);
    cleanups.push(() => device.close());
    const { replica, inner, transport, sync } = device;
    const states: string[] = [];
    sync.syncState$.subscribe((state) => states.push(state));
    let started = 0;
    sync.started$.subscribe(() => started++);
    const online: boolean[] = [];
    sync.online$.subscribe((value) => online.push(value));

    transport.connect();
    await firstValueFrom(inner.state$.pipe(filter((state) => state.status === 'online')));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(states).toEqual(['offline']);
    expect(online).toEqual([false]);
    expect(started).toBe(0);
    // The first page travels while the engine opens its views; nothing is stored before release.
    expect(requests).toEqual(['sync:pull:rank']);
    expect(await replica.conversations.count().exec()).toBe(0);

    sync.release();
    // Not synchronously: whoever gets the engine next can still add listeners before the first event.
    expect(started).toBe(0);
    await sync.awaitInSync();
    await firstValueFrom(sync.syncState$.pipe(filter((state) => state === 'synced')));
    expect(started).toBe(1);
    expect(online).toEqual([false, true]);
    expect(requests).toContain('sync:pull');
    // The page asked for while held is the one stored: it is not asked for again.
    expect(requests.filter((r) => r === 'sync:pull:rank')).toHaveLength(1);
    expect(await replica.conversations.count().exec()).toBe(5);
  });

  it('a first page asked for on a connection that goes away is dropped: the next connection asks again, and the sync completes', async () => {
    const live = await seeded(5);
    const requests: string[] = [];
    const errors: unknown[] = [];
    const device = await heldDevice(live, uniqueName('held-drop'), requests, (error) => errors.push(error));
    cleanups.push(() => device.close());
    const { replica, inner, transport, sync } = device;
    const online = (): Promise<unknown> => firstValueFrom(inner.state$.pipe(filter((state) => state.status === 'online')));
    transport.connect();
    await online();
    await waitUntil(() => requests.length === 1);
    transport.disconnect();
    transport.connect();
    await online();
    await waitUntil(() => requests.length === 2);
    expect(requests).toEqual(['sync:pull:rank', 'sync:pull:rank']);
    expect(await replica.conversations.count().exec()).toBe(0);

    sync.release();
    await sync.awaitInSync();
    expect(requests.filter((r) => r === 'sync:pull:rank')).toHaveLength(2);
    expect(await replica.conversations.count().exec()).toBe(5);
    expect(errors).toEqual([]);
  });

  it('shows a fresh replica\'s first page as it arrives, storing nothing; calls wait for its store until the connection goes, and it is stored after release', async () => {
    const live = await seeded(5);
    const device = await heldDevice(live, uniqueName('held-shown'), []);
    cleanups.push(() => device.close());
    const { replica, transport, sync } = device;
    const page = sync.firstPage;
    if (page === undefined) throw new Error('a sync has a first page');
    transport.connect();
    await waitUntil(() => page.shown !== null);
    expect(page.shown?.size).toBe(5);
    expect(page.active).toBe(true);
    expect(await replica.conversations.count().exec()).toBe(0);

    const settled = page.settled();
    if (settled === undefined) throw new Error('calls wait while the shown page is unstored');
    let released = false;
    void settled.then(() => {
      released = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(false);
    // Without the connection the store would wait for another answer: calls go on meanwhile.
    transport.disconnect();
    await settled;
    expect(page.settled()).toBeUndefined();
    expect(page.shown?.size).toBe(5);

    transport.connect();
    sync.release();
    await sync.awaitInSync();
    expect(page.shown).toBeNull();
    expect(page.settled()).toBeUndefined();
    expect(await replica.conversations.count().exec()).toBe(5);
  });

  it('a replica that has synced before asks for no first page when its connection comes up', async () => {
    const live = await seeded(3);
    const name = uniqueName('held-again');
    const first = await syncedDevice(live, name, []);
    await first.close();

    const requests: string[] = [];
    const again = await syncedDevice(live, name, requests);
    cleanups.push(() => again.close());
    expect(requests).not.toContain('sync:pull:rank');
    expect(requests).toContain('sync:pull');
    expect(await again.replica.conversations.count().exec()).toBe(3);
  });
});

describe('dirty marks, found in the unread index', () => {
  it('an edit written after the last unread snapshot, before a crash, is found by the next start\'s catch-up and pushed once', async () => {
    const live = await seeded(3);
    const name = uniqueName('crash-dirty');
    const first = await syncedDevice(live, name, []);
    const storedRows = async (replica: Replica): Promise<unknown[]> =>
      snapshotRows(await replica.getMeta('unreadIndex')) ?? [];
    await eventuallyTrue(async () => (await storedRows(first.replica)).length === 3);
    await first.crash();

    // Another writer of the replica (a tab) edits it and dies before any index snapshots the edit.
    const writer = await openReplica({ name, storage: 'memory' });
    const target = 'alice|1|u1';
    await applyEdits(writer.conversations, [target], stickTopEdit(new EngineClock({ deviceId: writer.deviceId }), true));
    const marked = await writer.conversations.storageInstance.findDocumentsById([target], false);
    expect((marked[0] as { dirty?: number } | undefined)?.dirty).toBeGreaterThan(0);
    expect(await storedRows(writer)).toHaveLength(3);
    await writer.close();

    const requests: string[] = [];
    const again = await syncedDevice(live, name, requests);
    cleanups.push(() => again.close());
    expect(requests.filter((r) => r === 'sync:push')).toHaveLength(1);
    const [stored] = await again.replica.conversations.storageInstance.findDocumentsById([target], false);
    expect((stored as { dirty?: number } | undefined)?.dirty).toBe(0);
    expect(again.index.dirtyIds()).toEqual([]);
    // A new device of the account sees the pin: it reached the server.
    const witness = await syncedDevice(live, uniqueName('witness'), []);
    cleanups.push(() => witness.close());
    const [seen] = await witness.replica.conversations.storageInstance.findDocumentsById([target], false);
    expect((seen as { stickTop?: boolean } | undefined)?.stickTop).toBe(true);
  });
});

async function eventuallyTrue(done: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function waitUntil(done: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('createConversationEngine', () => {
  it('starts connecting before its services are ready, and a listener added right after it resolves still sees the sync start and finish', async () => {
    const live = await seeded(3);
    let handedOut = false;
    let connectedBeforeHandOut = false;
    const events: string[] = [];
    const engine = await inMemoryDevice(live, 'alice', {
      synced: false,
      wrap: (inner) => ({
        ...interceptRequests(inner, (event, payload, options) => {
          // Nothing goes over the connection before the engine is handed out.
          if (!handedOut) events.push(`early ${event}`);
          return inner.request(event, payload, options);
        }),
        connect: () => {
          if (!handedOut) connectedBeforeHandOut = true;
          inner.connect();
        },
      }),
    });
    handedOut = true;
    engine.conversationService.on('onSyncStarted', () => events.push('started'));
    engine.conversationService.on('onSyncFinished', () => events.push('finished'));
    await firstValueFrom(engine.syncState$.pipe(filter((state) => state === 'synced')));
    expect(connectedBeforeHandOut).toBe(true);
    expect(events).toEqual(['started', 'finished']);
    expect(engine.conversationService.getTotalUnreadCount()).toBe(3);
  });
});

describe("a fresh device's first sync (the bootstrap)", () => {
  it('stores the final checkpoint, so a restart pulls from where it ended instead of from the start', async () => {
    const live = await seeded(12);
    const databaseName = uniqueName('boot');
    const first = await inMemoryDevice(live, 'alice', { databaseName });
    expect(first.conversationService.getTotalUnreadCount()).toBe(12);
    await first.close();

    await live.sendMessage({ from: 'u100', conversationType: 1, targetId: 'alice', text: 'while away' });
    const pulledFrom: (Checkpoint | null)[] = [];
    const again = await inMemoryDevice(live, 'alice', {
      databaseName,
      wrap: (inner) => interceptRequests(inner, (event, payload, options) => {
        if (event === 'sync:pull' && (payload as { collection: string }).collection === 'conversations') {
          pulledFrom.push((payload as { checkpoint: Checkpoint | null }).checkpoint);
        }
        return inner.request(event, payload, options);
      }),
    });
    expect(again.conversationService.getTotalUnreadCount()).toBe(13);
    expect(pulledFrom.length).toBeGreaterThan(0);
    expect(pulledFrom.every((checkpoint) => checkpoint !== null)).toBe(true);
  });
});
