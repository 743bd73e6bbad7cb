/**
 * Opening a replica written by the v0 engine (schema version 0), which replicated with RxDB's
 * replication plugin. That plugin kept the replication's state in its own meta storage, connected
 * to the collection: the downstream checkpoint (the server log position pulled to) and the
 * upstream checkpoint (the last local change it pushed). Before the schema migration runs (which
 * adds the `dirty` field, replica/schema.ts), this reads both:
 * - every document changed after the upstream checkpoint may hold an unpushed edit: its migration
 *   marks it dirty (pushing a document the server already has is a no-op: the merge is idempotent);
 * - the downstream checkpoint becomes the new replicator's checkpoint (a local document), so the
 *   upgraded device pulls on from where it was instead of from the start.
 * Then the plugin's meta storages are removed. Only RxDB's exported storage API is used.
 */
import {
  getAllCollectionDocuments,
  getChangedDocumentsSince,
  getRxReplicationMetaInstanceSchema,
  removeConnectedStorageFromCollection,
  type RxCollection,
  type RxDatabase,
  type RxJsonSchema,
  type RxStorageInstance,
} from 'rxdb';
import { Collection } from '@convsync/protocol';
import { checkpointKey } from './types.js';

const REPLICATED = [Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS] as const;
type Replicated = (typeof REPLICATED)[number];
/** RxDB's title of its replication meta schema. */
const META_TITLE = 'RxReplicationProtocolMetaData';
const PAGE = 1000;

interface ConnectedStorage {
  collectionName: string;
  schema: RxJsonSchema<unknown>;
}

export interface V0Upgrade {
  /** The ids to mark dirty in each collection's migration (empty when nothing is upgraded). */
  readonly dirty: Readonly<Record<Replicated, ReadonlySet<string>>>;
  /** Once the collections are open (migrated): saves the checkpoints, removes the old meta storages. */
  finish(collections: Readonly<Record<Replicated, RxCollection>>): Promise<void>;
}

async function openInstance(database: RxDatabase, collectionName: string, schema: RxJsonSchema<unknown>): Promise<RxStorageInstance<unknown, unknown, unknown>> {
  return database.storage.createStorageInstance({
    databaseInstanceToken: database.token,
    databaseName: database.name,
    collectionName,
    schema: schema as never,
    options: {},
    multiInstance: database.multiInstance,
    devMode: false,
    ...(database.password === undefined ? {} : { password: database.password as unknown }),
  }) as Promise<RxStorageInstance<unknown, unknown, unknown>>;
}

/** Every document of `instance` changed after `since` (all of them when `since` is undefined). */
async function changedSince(instance: RxStorageInstance<unknown, unknown, unknown>, since: unknown): Promise<Record<string, unknown>[]> {
  const documents: Record<string, unknown>[] = [];
  let checkpoint = since;
  for (;;) {
    const page = await getChangedDocumentsSince(instance, PAGE, checkpoint);
    documents.push(...(page.documents as Record<string, unknown>[]));
    if (page.documents.length < PAGE) return documents;
    checkpoint = page.checkpoint;
  }
}

export async function upgradeV0(database: RxDatabase): Promise<V0Upgrade> {
  const dirty: Record<Replicated, Set<string>> = { conversations: new Set(), conversationGroups: new Set() };
  const downCheckpoints = new Map<Replicated, unknown>();
  const metaStorages = new Map<Replicated, ConnectedStorage[]>();
  const collectionDocs = await getAllCollectionDocuments(database.internalStore);
  for (const name of REPLICATED) {
    const old = collectionDocs.find((doc) => doc.data.name === name && doc.data.version === 0);
    if (old === undefined) continue;
    const metas = old.data.connectedStorages.filter((storage) => storage.schema.title === META_TITLE) as ConnectedStorage[];
    metaStorages.set(name, metas);
    const primaryKey = old.data.schema.primaryKey as string;
    for (const meta of metas) {
      const instance = await openInstance(database, meta.collectionName, meta.schema);
      try {
        const found = (await instance.findDocumentsById(['down|1', 'up|1'], false)) as unknown as { id: string; checkpointData?: unknown }[];
        const down = found.find((doc) => doc.id === 'down|1')?.checkpointData;
        const up = found.find((doc) => doc.id === 'up|1')?.checkpointData;
        if (down !== undefined) downCheckpoints.set(name, down);
        const documents = await openInstance(database, name, old.data.schema);
        try {
          for (const doc of await changedSince(documents, up)) dirty[name].add(doc[primaryKey] as string);
        } finally {
          await documents.close();
        }
      } finally {
        await instance.close();
      }
    }
  }
  return {
    dirty,
    async finish(collections) {
      for (const [name, checkpoint] of downCheckpoints) {
        const seq = (checkpoint as { seq?: unknown }).seq;
        if (typeof seq === 'number' && (await database.getLocal(checkpointKey(name))) === null) {
          await database.upsertLocal(checkpointKey(name), { value: { seq } });
        }
      }
      for (const [name, metas] of metaStorages) {
        const collection = collections[name];
        for (const meta of metas) {
          // The migration carried the meta storage over to the new version; nothing reads it now.
          const schema = getRxReplicationMetaInstanceSchema(collection.schema.jsonSchema, false);
          schema.version = collection.schema.version;
          await removeConnectedStorageFromCollection(collection, meta.collectionName, schema);
          const instance = await openInstance(database, meta.collectionName, schema as RxJsonSchema<unknown>);
          await instance.remove();
        }
      }
    },
  };
}
