/**
 * Services over a real replica (RxDB memory storage) and a real in-memory transport, without the
 * engine's replication: what the services do on their own, offline or talking to a real server.
 */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { NEVER, BehaviorSubject, map, type Observable } from 'rxjs';
import { ConvSyncError, ErrorCode, emptyConversation, normalizeConversation, type ConversationDoc, type LastMessage } from '@convsync/protocol';
import type { ConvSyncServer } from '@convsync/server';
import { EngineClock } from '../src/clock.js';
import type { EngineContext } from '../src/context.js';
import { openReplica } from '../src/replica/database.js';
import type { SyncEvents, SyncState } from '../src/replication/sync-events.js';
import { createServices, type Services } from '../src/services/index.js';
import { InMemoryTransport } from '../src/transport/in-memory.js';

let counter = 0;

export interface ServiceHarness extends Services {
  readonly ctx: EngineContext;
  /** Closes the replica without disposing the services (a crash, as far as the replica knows). */
  crash(): Promise<void>;
  readonly transport: InMemoryTransport;
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function openServices(options: {
  accountId: string;
  server?: ConvSyncServer;
  deviceId?: string;
  now?: () => number;
  /** Reopen a replica by name (memory storage keeps it for the process). */
  name?: string;
  storage?: 'memory' | 'dexie';
  unreadSnapshotDelayMs?: number;
}): Promise<ServiceHarness> {
  const dexie = options.storage === 'dexie';
  const replica = await openReplica({
    ...(dexie ? { storage: 'dexie' as const, indexedDB, IDBKeyRange } : { storage: 'memory' as const }),
    name: options.name ?? `svc-${options.accountId.toLowerCase()}-${process.pid}-${++counter}-${Date.now()}`,
    deviceId: options.deviceId ?? `dev${counter}`,
  });
  const clock = new EngineClock({ deviceId: replica.deviceId, ...(options.now === undefined ? {} : { now: options.now }) });
  const server = options.server;
  const transport = new InMemoryTransport({
    open: async () => {
      if (server === undefined) throw new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, 'no server in this test');
      return server.connectInProcess(await server.issueToken(options.accountId), { deviceId: replica.deviceId });
    },
    retryMs: 50,
  });
  const errors: unknown[] = [];
  const online$: Observable<boolean> = transport.state$.pipe(map((s) => s.status === 'online'));
  const ctx: EngineContext = { accountId: options.accountId, replica, clock, transport, online$, reportError: (e) => errors.push(e) };
  const sync: SyncEvents = { syncState$: new BehaviorSubject<SyncState>('offline'), started$: NEVER, finished$: NEVER, failed$: NEVER };
  const services = createServices(ctx, sync, {
    outboxRetryDelayMs: 20,
    outboxMaxRetryDelayMs: 200,
    ...(options.unreadSnapshotDelayMs === undefined ? {} : { unreadSnapshotDelayMs: options.unreadSnapshotDelayMs }),
  });
  await services.ready;
  return {
    ...services,
    ctx,
    transport,
    errors,
    async crash() {
      transport.close();
      await replica.close();
    },
    async close() {
      await services.dispose();
      transport.close();
      await replica.close();
    },
  };
}

/** A conversation document as the server would send it: a message from `from` at `time`. */
export function serverDoc(options: {
  conversationId: string;
  time: number;
  from: string;
  unread: number;
  serverRev?: number;
  base?: ConversationDoc;
}): ConversationDoc {
  const base = options.base ?? emptyConversation({ conversationId: options.conversationId, now: options.time });
  const lastMessage: LastMessage = {
    messageRefer: {
      senderId: options.from,
      receiverId: base.targetId,
      messageClientId: `c${options.time}`,
      messageServerId: `s${options.time}`,
      conversationType: base.type,
      conversationId: options.conversationId,
      createTime: options.time,
    },
    lastMessageState: 0,
    messageType: 0,
    text: `hello at ${options.time}`,
    senderName: options.from,
  };
  return normalizeConversation({
    ...base,
    serverRev: options.serverRev ?? base.serverRev + 1,
    lastMessage,
    unreadCount: options.unread,
    sortOrder: options.time,
  });
}

/** Writes documents into the replica the way replication's downstream does (bulk upsert). */
export async function receive(harness: ServiceHarness, docs: ConversationDoc[]): Promise<void> {
  await harness.ctx.replica.conversations.bulkUpsert(docs);
}

/** Resolves with the first value of `source` that satisfies `predicate`, or rejects after `ms`. */
export function waitFor<T>(source: Observable<T>, predicate: (value: T) => boolean, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`condition not met within ${ms} ms`));
    }, ms);
    const subscription = source.subscribe({
      next: (value) => {
        if (!predicate(value)) return;
        clearTimeout(timer);
        queueMicrotask(() => subscription.unsubscribe());
        resolve(value);
      },
      error: (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    });
  });
}

/** Polls `check` until it returns true, or rejects after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error code a promise rejects with (fails the test if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConvSyncError) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}
