/**
 * Multi-device scenarios over socket.io against a real server: devices of one account (and of
 * others) as full engines. RxDB allows 13 open collections per process and an engine uses 4, so a
 * test opens at most three engines and closes them in afterEach.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { createConversationEngine } from '../src/index.js';
import { waitFor } from './services.helpers.js';

export type Engine = Awaited<ReturnType<typeof createConversationEngine>>;
export type StorageKind = 'memory' | 'dexie';

let counter = 0;

export interface Cluster {
  server: ConvSyncServer;
  /** A new device (engine) of `accountId`, connected, once its first sync finished. */
  device(accountId: string, options?: { storage?: StorageKind; databaseName?: string; deviceId?: string; synced?: boolean }): Promise<Engine>;
  /** Stops the server and starts it again on the same SQLite file and port (tokens stay valid). */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(options: { file?: boolean } = {}): Promise<Cluster> {
  const dir = options.file === true ? mkdtempSync(join(tmpdir(), 'convsync-engine-')) : undefined;
  const database = dir === undefined ? ':memory:' : join(dir, 'convsync.sqlite');
  const secret = `secret-${Date.now()}-${Math.random()}`;
  let server = await startServer({ database, port: 0, secret });
  const port = server.port;
  const engines: Engine[] = [];
  const cluster: Cluster = {
    get server() {
      return server;
    },
    async device(accountId, deviceOptions = {}) {
      const storage = deviceOptions.storage ?? 'memory';
      const engine = await createConversationEngine({
        url: server.url,
        token: await server.issueToken(accountId),
        storage,
        databaseName: deviceOptions.databaseName ?? `it-${accountId.toLowerCase()}-${process.pid}-${++counter}-${Date.now()}`,
        ...(deviceOptions.deviceId === undefined ? {} : { deviceId: deviceOptions.deviceId }),
        ...(storage === 'dexie' ? { indexedDB, IDBKeyRange } : {}),
      });
      engines.push(engine);
      if (deviceOptions.synced !== false) await synced(engine);
      return engine;
    },
    async restartServer() {
      await server.close();
      server = await startServer({ database, port, secret });
    },
    async close() {
      // Closing twice (a test closed one already) must be harmless.
      while (engines.length > 0) await engines.pop()?.close().catch(() => undefined);
      await server.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Waits until the engine reports 'synced'. */
export async function synced(engine: Engine, ms = 10_000): Promise<void> {
  await waitFor(engine.syncState$, (state) => state === 'synced', ms);
}

/** Collects the payloads of one event until the test reads them. */
export function record<T extends unknown[]>(subscribe: (listener: (...args: T) => void) => void): T[] {
  const seen: T[] = [];
  subscribe((...args: T) => seen.push(args));
  return seen;
}
