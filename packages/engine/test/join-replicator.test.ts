/**
 * The join-based replicator (src/replication/collection.ts) against the real server over the
 * in-memory transport, with the transport bent to reorder, lose, repeat and delay what travels.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Observable } from 'rxjs';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { ConvSyncError, ErrorCode, type ConversationDoc, type StreamEvent } from '@convsync/protocol';
import { closeAll, inMemoryDevice, interceptRequests, passThrough, synced, type StorageKind } from './engine.helpers.js';
import { waitFor } from './services.helpers.js';
import type { Transport } from '../src/index.js';

const about = (event: StreamEvent, id: string): boolean =>
  event.documents.some((doc) => (doc as { conversationId?: string }).conversationId === id);

/** A promise and its resolve. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe.each<StorageKind>(['memory', 'dexie'])('the join replicator (%s)', (storage) => {
  let server: ConvSyncServer;

  beforeEach(async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'first' });
  });

  afterEach(async () => {
    await closeAll();
    await server.close();
  });

  it('a stale pull page answered after a newer stream event stores nothing older over newer', async () => {
    let stale: ConversationDoc | undefined;
    let serveStale = false;
    const device = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner) => interceptRequests(inner, async (event, payload, options) => {
        const answer = await inner.request(event, payload, options);
        const page = answer as { collection?: string; documents?: ConversationDoc[] };
        if (event !== 'sync:pull' || page.collection !== 'conversations') return answer;
        const bob = page.documents?.find((doc) => doc.conversationId === 'alice|1|bob');
        if (bob !== undefined) stale ??= bob;
        // The page as read before the later commit: the older state of bob's conversation.
        return serveStale && stale !== undefined ? ({ ...page, documents: [stale] } as unknown as typeof answer) : answer;
      }),
    });
    const seen: (string | undefined)[] = [];
    device.conversationService.conversation$('alice|1|bob').subscribe((c) => seen.push(c?.lastMessage?.text));
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'second' });
    await waitFor(device.conversationService.conversation$('alice|1|bob'), (c) => c?.lastMessage?.text === 'second');
    serveStale = true;
    device.disconnect();
    device.connect();
    await synced(device);
    expect(stale?.lastMessage?.text).toBe('first');
    const now = await device.conversationService.getConversation('alice|1|bob');
    expect(now.lastMessage?.text).toBe('second');
    expect(now.unreadCount).toBe(2);
    // Never back: once 'second' showed, 'first' never showed again.
    expect(seen.slice(seen.indexOf('second'))).not.toContain('first');
  });

  it('stream events out of order: the gap is pulled, the late event is dropped, the state converges', async () => {
    let held: StreamEvent | undefined;
    let pulls = 0;
    const device = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner) => ({
        ...interceptRequests(inner, (event, payload, options) => {
          if (event === 'sync:pull') pulls++;
          return inner.request(event, payload, options);
        }),
        stream$: new Observable<StreamEvent>((subscriber) => inner.stream$.subscribe((event) => {
          if (about(event, 'alice|1|carol')) {
            held = event;
            return;
          }
          subscriber.next(event);
          // carol's event arrives after dave's: late and behind the position by then.
          if (about(event, 'alice|1|dave') && held !== undefined) subscriber.next(held);
        })),
      }),
    });
    const pullsBefore = pulls;
    await server.sendMessage({ from: 'carol', conversationType: 1, targetId: 'alice', text: 'c' });
    await server.sendMessage({ from: 'dave', conversationType: 1, targetId: 'alice', text: 'd' });
    await waitFor(device.conversationService.totalUnreadCount$, (n) => n === 3);
    await synced(device);
    expect(held).toBeDefined();
    expect(pulls).toBeGreaterThan(pullsBefore);
    expect((await device.conversationService.getConversation('alice|1|carol')).lastMessage?.text).toBe('c');
    expect((await device.conversationService.getConversation('alice|1|dave')).lastMessage?.text).toBe('d');
  });

  it('an edit made while the previous state of its document is on the wire is pushed next (the epoch moved)', async () => {
    const onWire = gate();
    const editDone = gate();
    let pushes = 0;
    const device = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner) => interceptRequests(inner, async (event, payload, options) => {
        if (event === 'sync:push' && pushes++ === 0) {
          onWire.open();
          await editDone.promise;
        }
        return inner.request(event, payload, options);
      }),
    });
    await device.conversationService.stickTopConversation('alice|1|bob', true);
    await onWire.promise;
    await device.conversationService.muteConversation('alice|1|bob', true);
    // The push of the pin alone is still on the wire: not synced.
    expect(await firstState(device)).toBe('syncing');
    editDone.open();
    await synced(device);
    expect(pushes).toBeGreaterThanOrEqual(2);
    const other = await inMemoryDevice(server, 'alice', { storage });
    const seen = await other.conversationService.getConversation('alice|1|bob');
    expect(seen.stickTop && seen.mute).toBe(true);
  });

  it('a push whose answer is lost is retried, and the retry changes nothing on the server', async () => {
    const streamed: number[] = [];
    const watcher = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner) => ({
        ...passThrough(inner),
        stream$: new Observable<StreamEvent>((subscriber) => inner.stream$.subscribe((event) => {
          if (about(event, 'alice|1|bob')) streamed.push(event.checkpoint.seq);
          subscriber.next(event);
        })),
      }),
    });
    let pushes = 0;
    const errors: number[] = [];
    const device = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner) => interceptRequests(inner, async (event, payload, options) => {
        const answer = await inner.request(event, payload, options);
        // The server committed, the answer never came back.
        if (event === 'sync:push' && pushes++ === 0) throw new ConvSyncError(ErrorCode.TIMEOUT, 'request timed out');
        return answer;
      }),
    });
    device.errors$.subscribe((error) => errors.push(error.code));
    await device.conversationService.stickTopConversation('alice|1|bob', true);
    await waitFor(watcher.conversationService.conversation$('alice|1|bob'), (c) => c?.stickTop === true);
    await synced(device);
    await synced(watcher);
    expect(pushes).toBe(2);
    expect(errors).toEqual([]);
    // One commit (each collection's replicator sees every event): the repeated row merged into an
    // equal master and wrote nothing.
    expect(new Set(streamed).size).toBe(1);
  });

  it('the outbox: a send whose answer is lost is retried and lands once; synced waits for it', async () => {
    const held = gate();
    let sends = 0;
    const device = await inMemoryDevice(server, 'alice', {
      storage,
      wrap: (inner): Transport => interceptRequests(inner, async (event, payload, options) => {
        if (event !== 'message:send') return inner.request(event, payload, options);
        sends++;
        if (sends === 1) await held.promise;
        const answer = await inner.request(event, payload, options);
        if (sends === 1) throw new ConvSyncError(ErrorCode.TIMEOUT, 'request timed out');
        return answer;
      }),
    });
    await device.messageService.sendMessage('alice|1|bob', { text: 'once' });
    await waitFor(device.syncState$, (state) => state === 'syncing');
    held.open();
    await synced(device, 15_000);
    expect(sends).toBe(2);
    const texts = (await device.messageService.getMessageList('alice|1|bob', { limit: 100 })).map((m) => m.text);
    expect(texts.filter((text) => text === 'once')).toHaveLength(1);
  });
});

/** The engine's current sync state. */
async function firstState(device: { syncState$: Observable<string> }): Promise<string> {
  return new Promise((resolve) => {
    const subscription = device.syncState$.subscribe((state) => {
      resolve(state);
      queueMicrotask(() => subscription.unsubscribe());
    });
  });
}
