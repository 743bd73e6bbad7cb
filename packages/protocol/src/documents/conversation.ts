/**
 * The replicated conversation document (docs/ARCHITECTURE.md "How data flows"): the conversation object of docs/API.md plus
 * what the merge needs. Field kinds (docs/ARCHITECTURE.md "Merge rules"):
 *
 * - LWW registers, each with its stamp in `clock`: `stickTop`, `mute`, `serverExtension`, group
 *   membership (`groups`, one register per group), and `clock.created` (an explicit create).
 * - max-registers: `lastReadTime`, `deletedBefore` (messages up to this time are hidden by a
 *   deletion), `clearedBefore` (history cleared up to this time).
 * - the deletion tombstone `clock.deleted`: registers stamped at or before it read as their default.
 * - server-derived: `name`, `avatar`, `lastMessage`, `unreadCount`, `sortOrder`, `createTime`,
 *   versioned by `serverRev` (the change-log position of the server's last write).
 * - derived on every write by `normalizeConversation`: `groupIds`, `rank`, `_deleted`.
 */
import * as v from 'valibot';
import { Limits } from '../limits.js';
import { avatarSchema, conversationIdSchema, conversationTypeSchema, countSchema, idSchema, nameSchema, serverExtensionSchema, stampSchema, timeSchema } from './fields.js';
import { lastMessageSchema } from './message.js';

export const groupRegisterSchema = v.object({
  groupId: idSchema,
  member: v.boolean(),
  stamp: stampSchema,
});
export type GroupRegister = v.InferOutput<typeof groupRegisterSchema>;

export const conversationClockSchema = v.object({
  created: stampSchema,
  stickTop: stampSchema,
  mute: stampSchema,
  serverExtension: stampSchema,
  deleted: stampSchema,
});
export type ConversationClock = v.InferOutput<typeof conversationClockSchema>;

export const conversationDocSchema = v.object({
  conversationId: conversationIdSchema,
  type: conversationTypeSchema,
  targetId: idSchema,
  stickTop: v.boolean(),
  mute: v.boolean(),
  serverExtension: serverExtensionSchema,
  groups: v.pipe(v.array(groupRegisterSchema), v.maxLength(Limits.MAX_GROUPS * 2)),
  groupIds: v.pipe(v.array(idSchema), v.maxLength(Limits.MAX_GROUPS)),
  lastReadTime: timeSchema,
  deletedBefore: timeSchema,
  clearedBefore: timeSchema,
  serverRev: countSchema,
  name: nameSchema,
  avatar: avatarSchema,
  lastMessage: v.nullable(lastMessageSchema),
  unreadCount: countSchema,
  sortOrder: timeSchema,
  createTime: timeSchema,
  updateTime: timeSchema,
  rank: countSchema,
  clock: conversationClockSchema,
  _deleted: v.boolean(),
});
export type ConversationDoc = v.InferOutput<typeof conversationDocSchema>;
