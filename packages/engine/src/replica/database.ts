/**
 * Opens the replica: one RxDB database per device and account, four collections (conversations,
 * conversationGroups, localExtensions, outbox — RxDB's open-source edition allows 13 open per
 * process), device-local values (device id, clock offset) as RxDB local documents, which are not
 * collections.
 */
import { addRxPlugin, createRxDatabase, randomToken, type RxDatabase, type RxStorage } from 'rxdb';
import { RxDBLocalDocumentsPlugin } from 'rxdb/plugins/local-documents';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import { ConvSyncError, ErrorCode, isDeviceId, type ConversationDoc, type ConversationGroupDoc } from '@convsync/protocol';
import { conversationGroupSchema, conversationSchema, localExtensionSchema, outboxSchema, replicatedMigrations } from './schema.js';
import { upgradeV0 } from './upgrade-v0.js';
import type { LocalExtensionDoc, OutboxDoc, Replica } from './types.js';

addRxPlugin(RxDBLocalDocumentsPlugin);
addRxPlugin(RxDBMigrationSchemaPlugin);

/** `'dexie'` (IndexedDB), `'memory'`, or any RxStorage. */
export type StorageOption = 'dexie' | 'memory' | RxStorage<unknown, unknown>;

export interface ReplicaOptions {
  name: string;
  storage: StorageOption;
  /** For 'dexie' outside a browser (fake-indexeddb). */
  indexedDB?: unknown;
  IDBKeyRange?: unknown;
  /** The device id to record when the replica has none yet. */
  deviceId?: string;
  /** Share change events between tabs of one browser (RxDB multiInstance). */
  multiInstance?: boolean;
  /** Called with the device id as soon as it is known, before the collections are open. */
  onDeviceId?: (deviceId: string) => void;
  /** Called once the replica's own documents can be read and written, before the collections are open. */
  onMeta?: (meta: ReplicaMeta) => void;
}

/** The replica's own documents (device id, checkpoints, snapshots), apart from the collections. */
export interface ReplicaMeta {
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;
}

let memoryStorage: RxStorage<unknown, unknown> | undefined;

function storageOf(options: ReplicaOptions): RxStorage<unknown, unknown> {
  if (options.storage === 'memory') {
    // One shared instance: RxDB's memory storage keeps a database's data across close/reopen
    // within the process only when the same storage object opens it again.
    memoryStorage ??= getRxStorageMemory() as RxStorage<unknown, unknown>;
    return memoryStorage;
  }
  if (options.storage === 'dexie') {
    const settings: Record<string, unknown> = {};
    if (options.indexedDB !== undefined) settings['indexedDB'] = options.indexedDB;
    if (options.IDBKeyRange !== undefined) settings['IDBKeyRange'] = options.IDBKeyRange;
    return getRxStorageDexie(settings);
  }
  return options.storage;
}

/**
 * The default database name of an account (and device). RxDB names allow lowercase letters, digits
 * and `_$()+-/`, so every other character (uppercase included: ids are case-sensitive) is escaped
 * as `_` + two hex digits, `_` and `-` too — injective, so two accounts never share a replica.
 */
export function databaseNameFor(accountId: string, deviceId?: string): string {
  const clean = (s: string): string =>
    s.replace(/[^a-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `convsync-${clean(accountId)}${deviceId === undefined ? '' : `-${clean(deviceId)}`}`;
}

const DEVICE_KEY = 'deviceId';

/** The replica's device id: the stored one, else `preferred` (or a new one) stored now. */
async function deviceIdOf(
  getMeta: (key: string) => Promise<unknown>,
  setMeta: (key: string, value: unknown) => Promise<void>,
  database: RxDatabase,
  preferred: string | undefined,
): Promise<string> {
  const stored = await getMeta(DEVICE_KEY);
  if (isDeviceId(stored)) return stored;
  const fresh = preferred ?? `d${randomToken(12)}`;
  if (stored !== undefined) {
    await setMeta(DEVICE_KEY, fresh);
    return fresh;
  }
  // Two tabs opening a new replica at once: the first id stored is the device's, for both.
  const deviceId = await database.insertLocal(DEVICE_KEY, { value: fresh }).then(() => fresh, async () => getMeta(DEVICE_KEY));
  if (!isDeviceId(deviceId)) throw new ConvSyncError(ErrorCode.INTERNAL, 'the replica holds no valid device id');
  return deviceId;
}

export async function openReplica(options: ReplicaOptions): Promise<Replica> {
  let database;
  try {
    database = await createRxDatabase({
      name: options.name,
      storage: storageOf(options),
      multiInstance: options.multiInstance ?? false,
      eventReduce: true,
      localDocuments: true,
    });
  } catch (error) {
    throw new ConvSyncError(ErrorCode.INTERNAL, `cannot open the replica ${options.name}`, { cause: error });
  }
  try {
    const getMeta = async (key: string): Promise<unknown> => {
      const doc = await database.getLocal<{ value: unknown }>(key);
      return doc === null ? undefined : doc.get('value');
    };
    const setMeta = async (key: string, value: unknown): Promise<void> => {
      await database.upsertLocal(key, { value });
    };
    // The device id lives in the database's local documents, apart from the collections: it is read
    // (or made) while they open, so a fresh device's connection is not later than it must be.
    options.onMeta?.({ getMeta, setMeta });
    const [opened, identified] = await Promise.allSettled([
      (async () => {
        // A replica written by the v0 engine: what its replication kept in RxDB's replication meta
        // (checkpoints, unpushed edits) becomes checkpoints and dirty marks (upgrade-v0.ts).
        const upgrade = await upgradeV0(database);
        const added = await database.addCollections({
          conversations: {
            schema: conversationSchema,
            migrationStrategies: replicatedMigrations('conversationId', upgrade.dirty.conversations, conversationSchema.version),
          },
          conversationGroups: {
            schema: conversationGroupSchema,
            migrationStrategies: replicatedMigrations('groupId', upgrade.dirty.conversationGroups, conversationGroupSchema.version),
          },
          localExtensions: { schema: localExtensionSchema },
          outbox: { schema: outboxSchema },
        });
        await upgrade.finish({ conversations: added.conversations, conversationGroups: added.conversationGroups });
        return added;
      })(),
      deviceIdOf(getMeta, setMeta, database, options.deviceId).then((deviceId) => {
        options.onDeviceId?.(deviceId);
        return deviceId;
      }),
    ]);
    // Both settled before the database may close on a failure of either.
    if (opened.status === 'rejected') throw opened.reason;
    if (identified.status === 'rejected') throw identified.reason;
    const collections = opened.value;
    const deviceId = identified.value;
    return {
      database,
      conversations: collections.conversations as unknown as Replica['conversations'],
      groups: collections.conversationGroups as unknown as Replica['groups'],
      localExtensions: collections.localExtensions as unknown as Replica['localExtensions'],
      outbox: collections.outbox as unknown as Replica['outbox'],
      deviceId,
      getMeta,
      setMeta,
      close: async () => {
        await database.close();
      },
    };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw ConvSyncError.from(error);
  }
}

export type { ConversationDoc, ConversationGroupDoc, LocalExtensionDoc, OutboxDoc };
