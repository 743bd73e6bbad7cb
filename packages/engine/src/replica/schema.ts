/**
 * The RxJSON schemas of the replica's collections, derived from the protocol's documents
 * (`ConversationDoc`, `ConversationGroupDoc`) and limits. RxDB validates nothing here (no dev-mode):
 * every inbound document was already parsed by the protocol's valibot schemas at the transport,
 * and local edits build documents through the protocol's own constructors.
 *
 * Dexie needs every indexed field `required`, and numeric indexes need `multipleOf`/`minimum`/
 * `maximum`; the list is read ascending by `rank` (Dexie never uses an index for a descending sort).
 */
import type { RxJsonSchema } from 'rxdb';
import { Limits, MAX_RANK, type ConversationDoc, type ConversationGroupDoc } from '@convsync/protocol';
import type { LocalExtensionDoc, OutboxDoc } from './types.js';

const CONVERSATION_ID_LENGTH = 2 * Limits.MAX_ID_LENGTH + 3;
const TIME = { type: 'integer', minimum: 0, maximum: 8.64e15 } as const;
const STAMP = { type: 'string', maxLength: 100 } as const;

export const conversationSchema: RxJsonSchema<Omit<ConversationDoc, '_deleted'>> = {
  title: 'conversations',
  version: 0,
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
  },
  required: [
    'conversationId', 'type', 'targetId', 'stickTop', 'mute', 'serverExtension', 'groups', 'groupIds',
    'lastReadTime', 'deletedBefore', 'clearedBefore', 'serverRev', 'name', 'avatar', 'unreadCount',
    'sortOrder', 'createTime', 'updateTime', 'rank', 'clock',
  ],
  indexes: ['rank'],
};

export const conversationGroupSchema: RxJsonSchema<Omit<ConversationGroupDoc, '_deleted'>> = {
  title: 'conversationGroups',
  version: 0,
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
  },
  required: ['groupId', 'name', 'serverExtension', 'createTime', 'updateTime', 'clock'],
};

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
