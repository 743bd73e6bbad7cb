/**
 * The replicated conversation group (folder). `name` and `serverExtension` are LWW registers; a
 * deletion is final (group ids are never reused), so `clock.deleted` beats every edit.
 */
import * as v from 'valibot';
import { idSchema, nameSchema, serverExtensionSchema, stampSchema, timeSchema } from './fields.js';

export const groupClockSchema = v.object({
  name: stampSchema,
  serverExtension: stampSchema,
  deleted: stampSchema,
});
export type GroupClock = v.InferOutput<typeof groupClockSchema>;

export const conversationGroupDocSchema = v.object({
  groupId: idSchema,
  name: nameSchema,
  serverExtension: serverExtensionSchema,
  createTime: timeSchema,
  updateTime: timeSchema,
  clock: groupClockSchema,
  _deleted: v.boolean(),
});
export type ConversationGroupDoc = v.InferOutput<typeof conversationGroupDocSchema>;
