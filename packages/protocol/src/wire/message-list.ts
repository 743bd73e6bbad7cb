/** `message:list`: a conversation's history, newest first, paged by time. */
import * as v from 'valibot';
import { conversationIdSchema, timeSchema } from '../documents/fields.js';
import { messageSchema } from '../documents/message.js';
import { Limits } from '../limits.js';
import { answerSchema } from './answer.js';

export const messageListRequestSchema = v.object({
  conversationId: conversationIdSchema,
  /** Only messages strictly older than this (ms); absent: from the newest. */
  beforeTime: v.optional(timeSchema),
  limit: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.MAX_MESSAGE_PAGE)),
});
export type MessageListRequest = v.InferOutput<typeof messageListRequestSchema>;

export const messageListAnswerSchema = answerSchema({ messages: v.array(messageSchema) });
export type MessageListResponse = { messages: v.InferOutput<typeof messageSchema>[] };
