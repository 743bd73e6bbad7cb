/** `message:send`: idempotent by (sender, clientMessageId), so an outbox may retry freely. */
import * as v from 'valibot';
import { conversationIdSchema, idSchema, serverExtensionSchema } from '../documents/fields.js';
import { messageSchema, messageTypeSchema } from '../documents/message.js';
import { Limits } from '../limits.js';
import { answerSchema } from './answer.js';

export const sendMessageRequestSchema = v.object({
  clientMessageId: idSchema,
  /** As the sender sees it: `<sender>|<type>|<target>`. */
  conversationId: conversationIdSchema,
  text: v.pipe(v.string(), v.maxLength(Limits.MAX_TEXT_LENGTH)),
  messageType: v.optional(messageTypeSchema),
  serverExtension: v.optional(serverExtensionSchema),
});
export type SendMessageRequest = v.InferOutput<typeof sendMessageRequestSchema>;

export const sendMessageAnswerSchema = answerSchema({ message: messageSchema });
export type SendMessageResponse = { message: v.InferOutput<typeof messageSchema> };
