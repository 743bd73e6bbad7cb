/**
 * Devices as full engines over the in-memory transport (the server's `connectInProcess`: the real
 * handlers, validation and stream, no socket), for replication and engine tests. RxDB allows 13
 * open collections per process and an engine uses 4: a test opens at most three engines, and
 * `closeAll` in afterEach closes them.
 */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import type { ConvSyncServer } from '@convsync/server';
import type { SessionEndpoint, StreamEvent } from '@convsync/protocol';
import { filter, type Observable } from 'rxjs';
import { createConversationEngine, InMemoryTransport, type ConversationEngine, type Transport } from '../src/index.js';
import { waitFor } from './services.helpers.js';

export type StorageKind = 'memory' | 'dexie';

const open: ConversationEngine[] = [];
let counter = 0;

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}-${Date.now()}`;
}

export interface DeviceOptions {
  storage?: StorageKind;
  deviceId?: string;
  databaseName?: string;
  now?: () => number;
  autoConnect?: boolean;
  /** Wraps the transport (fault injection: dropped stream events, …). */
  wrap?: (transport: Transport) => Transport;
  /** Wait for the first 'synced' (default true when autoConnect). */
  synced?: boolean;
}

/** A device of `accountId` whose transport is an in-process session of `server`. */
export async function inMemoryDevice(server: ConvSyncServer, accountId: string, options: DeviceOptions = {}): Promise<ConversationEngine> {
  const token = await server.issueToken(accountId);
  const storage = options.storage ?? 'memory';
  const engine = await createConversationEngine({
    token,
    storage,
    ...(storage === 'dexie' ? { indexedDB, IDBKeyRange } : {}),
    databaseName: options.databaseName ?? uniqueName('rep'),
    ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.autoConnect === undefined ? {} : { autoConnect: options.autoConnect }),
    transport: ({ deviceId, now }) => {
      const transport = new InMemoryTransport({
        open: (): Promise<SessionEndpoint> => server.connectInProcess(token, { deviceId }),
        now,
        retryDelayMs: () => 50,
      });
      return options.wrap === undefined ? transport : options.wrap(transport);
    },
  });
  open.push(engine);
  if (options.synced ?? options.autoConnect !== false) await synced(engine);
  return engine;
}

/** Waits until the engine reports 'synced'. */
export async function synced(engine: ConversationEngine, ms = 10_000): Promise<void> {
  await waitFor(engine.syncState$, (state) => state === 'synced', ms);
}

/** Closes every engine the helpers opened (call in afterEach). */
export async function closeAll(): Promise<void> {
  while (open.length > 0) await open.pop()?.close();
}

/** Remembers an engine a test opened itself, so `closeAll` closes it. */
export function track(engine: ConversationEngine): ConversationEngine {
  open.push(engine);
  return engine;
}

/** A transport whose stream drops the events `drop` picks (a lost frame), everything else as is. */
export function droppingStream(inner: Transport, drop: (event: StreamEvent, index: number) => boolean): Transport {
  let index = 0;
  const stream$: Observable<StreamEvent> = inner.stream$.pipe(filter((event) => !drop(event, index++)));
  return { ...passThrough(inner), stream$ };
}

/** A transport that forwards everything to `inner` (to override one part of it). */
export function passThrough(inner: Transport): Transport {
  return {
    state$: inner.state$,
    stream$: inner.stream$,
    request: (event, payload, options) => inner.request(event, payload, options),
    connect: () => inner.connect(),
    disconnect: () => inner.disconnect(),
    close: () => inner.close(),
  };
}

/** A transport whose requests all go through `request` (which forwards with `inner.request`). */
export function interceptRequests(inner: Transport, request: Transport['request']): Transport {
  return { ...passThrough(inner), request };
}

/** A transport whose requests `fail` picks reject with that error instead of reaching the server. */
export function failingRequests(inner: Transport, fail: (event: string, index: number) => Error | undefined): Transport {
  let index = 0;
  return interceptRequests(inner, (event, payload, options) => {
    const error = fail(event, index++);
    return error === undefined ? inner.request(event, payload, options) : Promise.reject(error);
  });
}
