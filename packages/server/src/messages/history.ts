/**
 * `message:list`: a conversation's history as one account sees it, newest first, paged by time.
 * Only conversations the account belongs to, and only what it has not cleared
 * (`deleteConversation(id, true)` raises the conversation's `clearedBefore`).
 */
import {
  Collection,
  ConvSyncError,
  ErrorCode,
  parseConversationId,
  type ConversationDoc,
  type Message,
  type MessageListRequest,
} from '@convsync/protocol';
import type { DomainContext } from '../context.js';
import { conversationAccess, conversationKey } from './conversations.js';
import { messageFor } from './ingest.js';

export async function listMessages(ctx: DomainContext, reader: string, request: MessageListRequest): Promise<Message[]> {
  const parsed = parseConversationId(request.conversationId);
  if (parsed.selfId !== reader) {
    throw new ConvSyncError(ErrorCode.FORBIDDEN, 'only the account\'s own conversations can be read', {
      detail: { conversationId: request.conversationId },
    });
  }
  return ctx.store.read(async (store) => {
    const access = await conversationAccess(store, parsed);
    if (!access.member) {
      throw new ConvSyncError(ErrorCode.FORBIDDEN, 'the account is not a member of this conversation', {
        detail: { conversationId: request.conversationId },
      });
    }
    const [row] = await store.getDocs(Collection.CONVERSATIONS, [{ owner: reader, id: request.conversationId }]);
    const clearedBefore = row === undefined ? 0 : (JSON.parse(row.json) as ConversationDoc).clearedBefore;
    const messages = await store.listMessages({
      conversationKey: conversationKey(parsed),
      after: clearedBefore,
      ...(request.beforeTime === undefined ? {} : { before: request.beforeTime }),
      limit: request.limit,
    });
    return messages.map((message) => messageFor(reader, message));
  });
}
