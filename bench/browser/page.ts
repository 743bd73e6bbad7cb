/**
 * The benchmark page (bundled by lib/browser.ts with esbuild, run in headless Chromium): the same
 * measurements as in Node, on Dexie over the browser's real IndexedDB. The engine is a separate
 * bundle loaded at run time (`/engine.js`), so the floor still runs where the engine is missing.
 */
import { Subject, combineLatest, filter, firstValueFrom, timeout } from 'rxjs';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import type { BenchEngine, EngineOptions } from '../lib/convsync.js';
import { floorSync } from '../lib/floor-client.js';
import { peerScreen, screenDiff, timeFirstScreen, type ExpectedScreen, type FirstScreenTimes, type Until } from '../lib/first-screen.js';
import { peerReplicate } from '../lib/peer-client.js';

type CreateEngine = (options: EngineOptions) => Promise<BenchEngine>;

export interface DeviceRequest {
  url: string;
  token: string;
  expected: number;
  databaseName: string;
  deviceId: string;
}

/** A fresh device of the first-screen benchmark. */
export interface FirstScreenRequest {
  url: string;
  token: string;
  databaseName: string;
  deviceId: string;
  expected: ExpectedScreen;
  timeoutMs: number;
  until: Until;
}

export interface PageApi {
  engineAvailable(): Promise<boolean>;
  floor(url: string): Promise<{ ms: number; count: number }>;
  convsync(request: DeviceRequest): Promise<number>;
  coldStart(request: DeviceRequest): Promise<{ listMs: number; unreadMs: number }>;
  /** The first-screen benchmark: a fresh engine on IndexedDB until its screen is right and until synced. */
  firstScreen(request: FirstScreenRequest): Promise<FirstScreenTimes>;
  /** RxDB's replication-websocket into Dexie until the initial replication is done; its screen is checked untimed. */
  peer(url: string, expected: ExpectedScreen, ids: string[]): Promise<number>;
  clear(): Promise<void>;
}

declare global {
  interface Window {
    convsyncBench: PageApi;
  }
}

let engineModule: Promise<CreateEngine | undefined> | undefined;

function loadEngine(): Promise<CreateEngine | undefined> {
  const url = '/engine.js';
  engineModule ??= import(url).then(
    (module: { createConversationEngine?: CreateEngine }) => module.createConversationEngine,
    () => undefined,
  );
  return engineModule;
}

async function createEngine(request: DeviceRequest): Promise<BenchEngine> {
  const create = await loadEngine();
  if (create === undefined) throw new Error('the engine bundle is not available');
  return create({ url: request.url, token: request.token, storage: 'dexie', databaseName: request.databaseName, deviceId: request.deviceId });
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(new Error(`cannot delete ${name}`));
    request.onblocked = () => resolve();
  });
}

window.convsyncBench = {
  async engineAvailable() {
    return (await loadEngine()) !== undefined;
  },
  async floor(url) {
    const start = performance.now();
    const database = await floorSync(url, getRxStorageDexie());
    const ms = performance.now() - start;
    const count = await database.conversations.count().exec();
    await database.db.remove();
    return { ms, count };
  },
  async convsync(request) {
    const start = performance.now();
    const engine = await createEngine(request);
    try {
      await firstValueFrom(combineLatest([engine.syncState$, engine.conversationService.totalUnreadCount$]).pipe(
        filter(([state, count]) => state === 'synced' && count === request.expected),
        timeout(300_000),
      ));
      return performance.now() - start;
    } finally {
      await engine.close();
    }
  },
  async coldStart(request) {
    // The page was just reloaded: fetch and evaluate the engine bundle before the clock starts, as
    // in Node (where the warm-up has imported it), so the figure is createConversationEngine's.
    await loadEngine();
    const start = performance.now();
    let listAt = 0;
    let unreadAt = 0;
    const engine = await createEngine(request);
    try {
      const service = engine.conversationService;
      // Each observable is timed on its own subscription (combineLatest would hold the first back).
      const shown = new Subject<void>();
      const subscriptions = [
        service.conversationList$().subscribe((list) => {
          if (listAt === 0 && list.length > 0) {
            listAt = performance.now();
            shown.next();
          }
        }),
        service.totalUnreadCount$.subscribe((unread) => {
          if (unreadAt === 0 && unread === request.expected) {
            unreadAt = performance.now();
            shown.next();
          }
        }),
      ];
      try {
        if (listAt === 0 || unreadAt === 0) {
          await firstValueFrom(shown.pipe(filter(() => listAt !== 0 && unreadAt !== 0), timeout(60_000)));
        }
      } finally {
        for (const subscription of subscriptions) subscription.unsubscribe();
      }
      return { listMs: listAt - start, unreadMs: unreadAt - start };
    } finally {
      await engine.close();
    }
  },
  async firstScreen(request) {
    const create = await loadEngine();
    if (create === undefined) throw new Error('the engine bundle is not available');
    return timeFirstScreen(
      () => create({ url: request.url, token: request.token, storage: 'dexie', databaseName: request.databaseName, deviceId: request.deviceId }),
      request.expected,
      () => performance.now(),
      request.timeoutMs,
      request.until,
    );
  },
  async peer(url, expected, ids) {
    const start = performance.now();
    const database = await peerReplicate(url, getRxStorageDexie());
    const ms = performance.now() - start;
    try {
      const wrong = screenDiff(await peerScreen(database, ids), expected);
      if (wrong !== null) throw new Error(`the peer's screen is wrong after its sync: ${wrong}`);
      return ms;
    } finally {
      await database.db.remove();
    }
  },
  async clear() {
    for (const database of await indexedDB.databases()) {
      if (database.name !== undefined) await deleteDatabase(database.name);
    }
  },
};
