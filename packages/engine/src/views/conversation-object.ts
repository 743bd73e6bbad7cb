/** Maps replica documents to the objects apps see (docs/API.md "conversationService"), joining device-local state. */
import {
  LastMessageState,
  compareLastMessages,
  type ConversationDoc,
  type ConversationGroupDoc,
  type LastMessage,
} from '@convsync/protocol';
import type { OutboxDoc } from '../replica/types.js';
import type { Conversation, ConversationGroup } from '../services/types.js';

/** The newest pending send of a conversation shown as its last message (until the server's arrives). */
export function pendingLastMessage(accountId: string, doc: ConversationDoc, pending: OutboxDoc): LastMessage {
  return {
    messageRefer: {
      senderId: accountId,
      receiverId: doc.targetId,
      messageClientId: pending.clientMessageId,
      messageServerId: '',
      conversationType: doc.type,
      conversationId: doc.conversationId,
      createTime: pending.createTime,
    },
    lastMessageState: LastMessageState.DEFAULT,
    messageType: pending.messageType,
    text: pending.text.slice(0, 500),
    senderName: '',
  };
}

export interface ConversationJoin {
  localExtension?: string | undefined;
  /** The newest pending outbox message of the conversation, if any. */
  pending?: LastMessage | undefined;
}

export function toConversation(doc: ConversationDoc, join: ConversationJoin = {}): Conversation {
  let lastMessage = doc.lastMessage;
  if (join.pending !== undefined && compareLastMessages(join.pending, lastMessage) > 0) lastMessage = join.pending;
  const conversation: Conversation = {
    conversationId: doc.conversationId,
    type: doc.type,
    name: doc.name,
    avatar: doc.avatar,
    mute: doc.mute,
    stickTop: doc.stickTop,
    groupIds: [...doc.groupIds],
    localExtension: join.localExtension ?? '',
    serverExtension: doc.serverExtension,
    unreadCount: doc.unreadCount,
    lastReadTime: doc.lastReadTime,
    sortOrder: doc.sortOrder,
    createTime: doc.createTime,
    updateTime: doc.updateTime,
  };
  if (lastMessage !== null) conversation.lastMessage = lastMessage;
  return conversation;
}

export function toGroup(doc: ConversationGroupDoc): ConversationGroup {
  return {
    groupId: doc.groupId,
    name: doc.name,
    serverExtension: doc.serverExtension,
    createTime: doc.createTime,
    updateTime: doc.updateTime,
  };
}
