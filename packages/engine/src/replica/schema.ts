/**
 * The RxJSON schemas of the replica's collections, derived from the protocol's documents
 * (`ConversationDoc`, `ConversationGroupDoc`) and limits. RxDB validates nothing here (no dev-mode):
 * every inbound document was already parsed by the protocol's valibot schemas at the transport,
 * and local edits build documents through the protocol's own constructors.
 *
 * Dexie needs every indexed field `required`, and numeric indexes need `multipleOf`/`minimum`/
 * `maximum`; the list is read ascending by `rank` (Dexie never uses an index for a descending sort).
 */
import type { MigrationStrategies, RxJsonSchema } from 'rxdb';
import { Limits, MAX_RANK, type ConversationDoc, type ConversationGroupDoc } from '@convsync/protocol';
import { DIRTY_FIELD, nextEpoch } from './dirty.js';
import type { LocalExtensionDoc, OutboxDoc } from './types.js';

const CONVERSATION_ID_LENGTH = 2 * Limits.MAX_ID_LENGTH + 3;
const TIME = { type: 'integer', minimum: 0, maximum: 8.64e15 } as const;
const STAMP = { type: 'string', maxLength: 100 } as const;

/** A replicated document as stored: with its dirty mark (replica/dirty.ts). */
type Stored<T> = Omit<T, '_deleted'> & { dirty: number };

/**
 * Schema history of the replicated collections:
 * - 0: the v0 engine (RxDB's replication plugin kept the replication state);
 * - 1: `dirty` (indexed), the local epoch of an unpushed edit, 0 when clean;
 * - 2 (conversations only): `dirty` no longer indexed — the unread index tracks the
 *   marks (replica/dirty.ts); the documents are unchanged.
 */
export const conversationSchema: RxJsonSchema<Stored<ConversationDoc>> = {
  title: 'conversations',
  version: 2,
  primaryKey: 'conversationId',
  type: 'object',
  properties: {
    conversationId: { type: 'string', maxLength: CONVERSATION_ID_LENGTH },
    type: { type: 'integer', minimum: 1, maximum: 3 },
    targetId: { type: 'string', maxLength: Limits.MAX_ID_LENGTH },
    stickTop: { type: 'boolean' },
    mute: { type: 'boolean' },
    serverExtension: { type: 'string' },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        properties: { groupId: { type: 'string' }, member: { type: 'boolean' }, stamp: STAMP },
        required: ['groupId', 'member', 'stamp'],
      },
    },
    groupIds: { type: 'array', items: { type: 'string' } },
    lastReadTime: TIME,
    deletedBefore: TIME,
    clearedBefore: TIME,
    serverRev: { type: 'integer', minimum: 0 },
    name: { type: 'string' },
    avatar: { type: 'string' },
    lastMessage: { type: ['object', 'null'] },
    unreadCount: { type: 'integer', minimum: 0 },
    sortOrder: TIME,
    createTime: TIME,
    updateTime: TIME,
    rank: { type: 'number', multipleOf: 1, minimum: 0, maximum: MAX_RANK },
    clock: {
      type: 'object',
      properties: { created: STAMP, stickTop: STAMP, mute: STAMP, serverExtension: STAMP, deleted: STAMP },
      required: ['created', 'stickTop', 'mute', 'serverExtension', 'deleted'],
    },
    dirty: DIRTY_FIELD,
  },
  required: [
    'conversationId', 'type', 'targetId', 'stickTop', 'mute', 'serverExtension', 'groups', 'groupIds',
    'lastReadTime', 'deletedBefore', 'clearedBefore', 'serverRev', 'name', 'avatar', 'unreadCount',
    'sortOrder', 'createTime', 'updateTime', 'rank', 'clock', 'dirty',
  ],
  indexes: ['rank'],
};

export const conversationGroupSchema: RxJsonSchema<Stored<ConversationGroupDoc>> = {
  title: 'conversationGroups',
  version: 1,
  primaryKey: 'groupId',
  type: 'object',
  properties: {
    groupId: { type: 'string', maxLength: Limits.MAX_ID_LENGTH },
    name: { type: 'string' },
    serverExtension: { type: 'string' },
    createTime: TIME,
    updateTime: TIME,
    clock: {
      type: 'object',
      properties: { name: STAMP, serverExtension: STAMP, deleted: STAMP },
      required: ['name', 'serverExtension', 'deleted'],
    },
    dirty: DIRTY_FIELD,
  },
  required: ['groupId', 'name', 'serverExtension', 'createTime', 'updateTime', 'clock', 'dirty'],
  indexes: ['dirty'],
};

/**
 * The migration strategies of a replicated collection up to `version`: 0 → 1 adds the dirty mark,
 * set on the documents `dirtyIds` names (upgrade-v0.ts: those the v0 replication had not pushed);
 * 1 → 2 (conversations) drops the index on it and leaves the documents as they are.
 */
export function replicatedMigrations(primaryKey: string, dirtyIds: ReadonlySet<string>, version: number): MigrationStrategies {
  const epoch = nextEpoch(0);
  const strategies: MigrationStrategies = {
    1: (doc: Record<string, unknown>) => ({ ...doc, dirty: dirtyIds.has(doc[primaryKey] as string) ? epoch : 0 }),
  };
  if (version >= 2) strategies[2] = (doc: Record<string, unknown>) => doc;
  return strategies;
}

export const localExtensionSchema: RxJsonSchema<LocalExtensionDoc> = {
  title: 'localExtensions',
  version: 0,
  primaryKey: 'conversationId',
  type: 'object',
  properties: {
    conversationId: { type: 'string', maxLength: CONVERSATION_ID_LENGTH },
    localExtension: { type: 'string' },
  },
  required: ['conversationId', 'localExtension'],
};

export const outboxSchema: RxJsonSchema<OutboxDoc> = {
  title: 'outbox',
  version: 0,
  primaryKey: 'clientMessageId',
  type: 'object',
  properties: {
    clientMessageId: { type: 'string', maxLength: Limits.MAX_ID_LENGTH },
    conversationId: { type: 'string', maxLength: CONVERSATION_ID_LENGTH },
    text: { type: 'string' },
    messageType: { type: 'integer' },
    serverExtension: { type: 'string' },
    createTime: { type: 'number', multipleOf: 1, minimum: 0, maximum: 8.64e15 },
    state: { type: 'string', maxLength: 16 },
    errorCode: { type: 'integer' },
    errorDesc: { type: 'string' },
  },
  required: ['clientMessageId', 'conversationId', 'text', 'messageType', 'serverExtension', 'createTime', 'state', 'errorCode', 'errorDesc'],
  indexes: ['createTime'],
};
