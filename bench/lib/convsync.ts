/**
 * ConvSync's side of the benchmarks: the engine (docs/API.md) as a fresh device, a cold start, and the
 * observables the views benchmarks wait on. The engine is loaded lazily so the benchmarks that do
 * not need it (floor, peer, server ingest and memory) run even where it is missing.
 */
import { combineLatest, type Observable } from 'rxjs';
import { removeRxDatabase } from 'rxdb';
import type { ConvSyncServer } from '@convsync/server';
import type { DeviceStorage } from './rx.js';
import { ACCOUNT } from './seed.js';
import { now, waitFor } from './time.js';

/** The part of the engine's public API (docs/API.md) the benchmarks drive. */
export interface BenchEngine {
  readonly syncState$: Observable<string>;
  readonly conversationService: {
    readonly totalUnreadCount$: Observable<number>;
    conversationList$(option?: object): Observable<readonly unknown[]>;
    unreadCountByFilter$(filter: object): Observable<number>;
    conversation$(conversationId: string): Observable<{ stickTop: boolean; unreadCount: number } | null>;
    stickTopConversation(conversationId: string, stickTop: boolean): Promise<void>;
    markConversationRead(conversationId: string): Promise<number>;
    getTotalUnreadCount(): number;
    getConversationList(offset: number, limit: number): Promise<{ conversationList: readonly unknown[] }>;
    clearUnreadCountByIds(conversationIds: string[]): Promise<readonly unknown[]>;
  };
  disconnect(): void;
  connect(): void;
  close(): Promise<void>;
}

export interface EngineOptions {
  url: string;
  token: string;
  storage?: 'dexie' | 'memory';
  indexedDB?: unknown;
  IDBKeyRange?: unknown;
  databaseName?: string;
  deviceId?: string;
}

type CreateEngine = (options: EngineOptions) => Promise<BenchEngine>;

let loaded: Promise<CreateEngine | undefined> | undefined;

/** The engine's factory, or undefined while the package has no implementation. */
export function loadEngine(): Promise<CreateEngine | undefined> {
  // A variable specifier: the benchmarks must typecheck and run before the engine exists.
  const specifier = '@convsync/engine';
  loaded ??= import(specifier).then(
    (module: { createConversationEngine?: CreateEngine }) => module.createConversationEngine,
    () => undefined,
  );
  return loaded;
}

export async function engineAvailable(): Promise<boolean> {
  return (await loadEngine()) !== undefined;
}

export async function createEngine(options: EngineOptions): Promise<BenchEngine> {
  const create = await loadEngine();
  if (create === undefined) throw new Error('@convsync/engine is not available');
  return create(options);
}

let devices = 0;

/** Engine options for a device of `ACCOUNT` on `storage` (a unique database and device id). */
export function deviceOptions(url: string, token: string, storage: DeviceStorage, name?: string): EngineOptions {
  devices++;
  const id = name ?? `bench${process.pid}d${devices}`;
  return {
    url,
    token,
    storage: storage.kind,
    databaseName: `${id}db`,
    deviceId: id,
    ...(storage.indexedDB === undefined ? {} : { indexedDB: storage.indexedDB, IDBKeyRange: storage.IDBKeyRange }),
  };
}

/** Waits until the engine is synced and its total unread count is `expected`. */
export async function untilSynced(engine: BenchEngine, expected: number, ms = 300_000): Promise<void> {
  await waitFor(
    combineLatest([engine.syncState$, engine.conversationService.totalUnreadCount$]),
    ([state, count]) => state === 'synced' && count === expected,
    ms,
    `sync of ${expected} conversations`,
  );
}

/**
 * A fresh device of `ACCOUNT` syncs from `server` until it holds `expected` conversations (each
 * with one unread, so the total unread count proves they are all there). Returns the milliseconds
 * from creating the engine to that point.
 */
export async function convsyncFreshSync(options: { server: ConvSyncServer; storage: DeviceStorage; expected: number }): Promise<number> {
  const token = await options.server.issueToken(ACCOUNT);
  const device = deviceOptions(options.server.url, token, options.storage);
  const start = now();
  const engine = await createEngine(device);
  try {
    await untilSynced(engine, options.expected);
    return now() - start;
  } finally {
    await engine.close();
    await removeReplica(device, options.storage);
  }
}

/**
 * Deletes a closed device's replica, as the floor and the peer delete their databases after each
 * run. RxDB's memory storage keeps every database of the process in one module-wide map until it
 * is removed (that is how the engine's 'memory' replica survives a close and reopen), so without
 * this each run would leave ≈20 MB (10k conversations) in the heap, and every later run — of any of
 * the three systems — would pay for it in garbage collection.
 */
export async function removeReplica(device: EngineOptions, storage: DeviceStorage): Promise<void> {
  if (storage.kind !== 'memory' || device.databaseName === undefined) return;
  await removeRxDatabase(device.databaseName, storage.storage);
}
