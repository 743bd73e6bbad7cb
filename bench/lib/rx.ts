/**
 * The storages a fresh device uses in Node: memory, or Dexie over a fresh fake-indexeddb per run so
 * runs never share state.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { RxStorage } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';

export type StorageKind = 'memory' | 'dexie';
export const STORAGE_KINDS: readonly StorageKind[] = ['memory', 'dexie'];

/** What a fresh device's storage is made of: the RxStorage, and for Dexie its own IndexedDB. */
export interface DeviceStorage {
  kind: StorageKind;
  storage: RxStorage<unknown, unknown>;
  /** Set for Dexie: a fresh, empty fake-indexeddb. */
  indexedDB?: InstanceType<typeof IDBFactory>;
  IDBKeyRange?: typeof IDBKeyRange;
}

export function freshStorage(kind: StorageKind): DeviceStorage {
  if (kind === 'memory') return { kind, storage: getRxStorageMemory() };
  const indexedDB = new IDBFactory();
  return { kind, storage: getRxStorageDexie({ indexedDB, IDBKeyRange }), indexedDB, IDBKeyRange };
}

export { openConversationDatabase, type BenchDatabase } from './rx-schema.js';
