/** Messages as the server stores and returns them, and the last-message summary of a conversation. */
import * as v from 'valibot';
import { Limits } from '../limits.js';
import { conversationIdSchema, conversationTypeSchema, idSchema, nameSchema, serverExtensionSchema, timeSchema } from './fields.js';

/** Message types of the seed's SDK that ConvSync carries (text, and custom for app payloads). */
export const MessageType = { TEXT: 0, CUSTOM: 100 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
export const messageTypeSchema = v.picklist([MessageType.TEXT, MessageType.CUSTOM]);

/** `V2NIMLastMessageState`: a normal message, or one that was revoked. */
export const LastMessageState = { DEFAULT: 0, REVOKED: 1 } as const;
export type LastMessageState = (typeof LastMessageState)[keyof typeof LastMessageState];

export const messageReferSchema = v.object({
  senderId: idSchema,
  receiverId: idSchema,
  messageClientId: idSchema,
  messageServerId: idSchema,
  conversationType: conversationTypeSchema,
  /** The conversation as the owner of the document sees it. */
  conversationId: conversationIdSchema,
  createTime: timeSchema,
});
export type MessageRefer = v.InferOutput<typeof messageReferSchema>;

export const lastMessageSchema = v.object({
  messageRefer: messageReferSchema,
  lastMessageState: v.picklist([LastMessageState.DEFAULT, LastMessageState.REVOKED]),
  messageType: messageTypeSchema,
  /** A preview: the text cut to MAX_PREVIEW_LENGTH characters. */
  text: v.pipe(v.string(), v.maxLength(Limits.MAX_PREVIEW_LENGTH)),
  senderName: nameSchema,
});
export type LastMessage = v.InferOutput<typeof lastMessageSchema>;

export const SendingState = { SENDING: 'sending', SUCCEEDED: 'succeeded', FAILED: 'failed' } as const;
export type SendingState = (typeof SendingState)[keyof typeof SendingState];

export const messageSchema = v.object({
  messageClientId: idSchema,
  messageServerId: idSchema,
  /** The conversation as the reader sees it. */
  conversationId: conversationIdSchema,
  conversationType: conversationTypeSchema,
  senderId: idSchema,
  receiverId: idSchema,
  senderName: nameSchema,
  messageType: messageTypeSchema,
  text: v.pipe(v.string(), v.maxLength(Limits.MAX_TEXT_LENGTH)),
  serverExtension: serverExtensionSchema,
  createTime: timeSchema,
  sendingState: v.picklist([SendingState.SENDING, SendingState.SUCCEEDED, SendingState.FAILED]),
});
export type Message = v.InferOutput<typeof messageSchema>;

/** Orders last messages: by server time, then server id (both assigned by the server). */
export function compareLastMessages(a: LastMessage | null, b: LastMessage | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const ta = a.messageRefer.createTime;
  const tb = b.messageRefer.createTime;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ia = a.messageRefer.messageServerId;
  const ib = b.messageRefer.messageServerId;
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

export function lastMessageTime(lastMessage: LastMessage | null): number {
  return lastMessage === null ? 0 : lastMessage.messageRefer.createTime;
}

export function previewText(text: string): string {
  return text.length <= Limits.MAX_PREVIEW_LENGTH ? text : text.slice(0, Limits.MAX_PREVIEW_LENGTH);
}
