/**
 * The conversation collection the floor and the peer write into (in Node and in the browser): the
 * same documents the ConvSync server serves, indexed by the list key (`rank`) like the engine's
 * replica. No storage imports here, so the browser page can bundle it.
 */
import { MAX_RANK, type ConversationDoc } from '@convsync/protocol';
import { createRxDatabase, type RxCollection, type RxDatabase, type RxJsonSchema, type RxStorage } from 'rxdb';

const stamp = { type: 'string', maxLength: 100 } as const;
const time = { type: 'number' } as const;

/** A conversation as RxDB stores it: `_deleted` is RxDB's own field, not part of the schema. */
export type StoredConversation = Omit<ConversationDoc, '_deleted'>;

export const conversationSchema: RxJsonSchema<StoredConversation> = {
  version: 0,
  primaryKey: 'conversationId',
  type: 'object',
  properties: {
    conversationId: { type: 'string', maxLength: 300 },
    type: { type: 'number' },
    targetId: { type: 'string' },
    stickTop: { type: 'boolean' },
    mute: { type: 'boolean' },
    serverExtension: { type: 'string' },
    groups: { type: 'array', items: { type: 'object' } },
    groupIds: { type: 'array', items: { type: 'string' } },
    lastReadTime: time,
    deletedBefore: time,
    clearedBefore: time,
    serverRev: time,
    name: { type: 'string' },
    avatar: { type: 'string' },
    lastMessage: { type: ['object', 'null'] },
    unreadCount: time,
    sortOrder: time,
    createTime: time,
    updateTime: time,
    rank: { type: 'number', minimum: 0, maximum: MAX_RANK, multipleOf: 1 },
    clock: {
      type: 'object',
      properties: { created: stamp, stickTop: stamp, mute: stamp, serverExtension: stamp, deleted: stamp },
    },
  },
  required: ['conversationId', 'type', 'targetId', 'rank', 'sortOrder', 'unreadCount'],
  indexes: ['rank'],
};

export type ConversationCollection = RxCollection<StoredConversation>;

export interface BenchDatabase {
  db: RxDatabase<{ conversations: ConversationCollection }>;
  conversations: ConversationCollection;
}

let counter = 0;

/** A new database with one conversations collection on `storage`. */
export async function openConversationDatabase(storage: RxStorage<unknown, unknown>, prefix = 'bench'): Promise<BenchDatabase> {
  counter++;
  const db = await createRxDatabase<{ conversations: ConversationCollection }>({
    name: `${prefix}n${counter}t${Date.now()}r${Math.floor(Math.random() * 1e9)}`,
    storage,
    multiInstance: false,
    eventReduce: true,
    closeDuplicates: true,
  });
  const { conversations } = await db.addCollections({ conversations: { schema: conversationSchema } });
  return { db, conversations };
}

/** Strips RxDB's bookkeeping so documents from two replicas compare by content. */
export function withoutMeta<T extends object>(doc: T): T {
  const { _meta: _m, _rev: _r, _attachments: _a, ...rest } = doc as T & { _meta?: unknown; _rev?: unknown; _attachments?: unknown };
  return rest as T;
}
