/**
 * The public shapes of the services (docs/API.md), named after the seed's V2NIM types without
 * the prefix. The replica's documents carry more (registers, stamps, rank); apps see only these.
 */
import type { ConvSyncError, ConversationType, LastMessage, Message, MessageType } from '@convsync/protocol';

/** A conversation as apps see it (docs/API.md "Shapes"). */
export interface Conversation {
  conversationId: string;
  type: ConversationType;
  /** The peer's or team's name. */
  name: string;
  avatar: string;
  mute: boolean;
  stickTop: boolean;
  groupIds: string[];
  /** This device only. */
  localExtension: string;
  serverExtension: string;
  /** Absent until the conversation has a message. */
  lastMessage?: LastMessage;
  unreadCount: number;
  lastReadTime: number;
  /** The list position key: the paging cursor (`offset`) of `getConversationList`. */
  sortOrder: number;
  createTime: number;
  updateTime: number;
}

/** Filter of the unread counts (`V2NIMConversationFilter`); at least one criterion. */
export interface ConversationFilter {
  conversationTypes?: ConversationType[];
  conversationGroupId?: string;
  /** Skip muted conversations. */
  ignoreMuted?: boolean;
}

/** Options of the list calls (`V2NIMConversationOption`). */
export interface ConversationOption {
  conversationTypes?: ConversationType[];
  onlyUnread?: boolean;
  /** Conversations in any of these groups. */
  conversationGroupIds?: string[];
}

/** A page (`V2NIMConversationResult`). */
export interface ConversationResult {
  /** Pass it back to get the next page; 0 once finished. */
  offset: number;
  finished: boolean;
  conversationList: Conversation[];
}

/** One failed id of a batch call (`V2NIMConversationOperationResult`). */
export interface ConversationOperationResult {
  conversationId: string;
  error: ConvSyncError;
}

/** A conversation group (folder). */
export interface ConversationGroup {
  groupId: string;
  name: string;
  serverExtension: string;
  createTime: number;
  updateTime: number;
}

/** `createConversationGroup`'s answer (`V2NIMConversationGroupResult`). */
export interface ConversationGroupResult {
  group: ConversationGroup;
  /** Conversations that could not be added. */
  failedList: ConversationOperationResult[];
}

/** What `sendMessage` takes besides the conversation. */
export interface SendMessageParams {
  text: string;
  messageType?: MessageType;
  serverExtension?: string;
}

export interface MessageListOption {
  /** Only messages strictly older than this (ms); absent: from the newest. */
  beforeTime?: number;
  /** 1–100. */
  limit: number;
}

export type { Message };

/** `conversationService` events (docs/API.md "conversationService"). */
export interface ConversationListeners {
  onSyncStarted: () => void;
  onSyncFinished: () => void;
  onSyncFailed: (error: ConvSyncError) => void;
  onConversationCreated: (conversation: Conversation) => void;
  onConversationDeleted: (conversationIds: string[]) => void;
  onConversationChanged: (conversations: Conversation[]) => void;
  onTotalUnreadCountChanged: (count: number) => void;
  onUnreadCountChangedByFilter: (filter: ConversationFilter, count: number) => void;
  onConversationReadTimeUpdated: (conversationId: string, readTime: number) => void;
}

/** `conversationGroupService` events (docs/API.md "conversationGroupService"). */
export interface ConversationGroupListeners {
  onConversationGroupCreated: (group: ConversationGroup) => void;
  onConversationGroupDeleted: (groupId: string) => void;
  onConversationGroupChanged: (group: ConversationGroup) => void;
  onConversationsAddedToGroup: (groupId: string, conversations: Conversation[]) => void;
  onConversationsRemovedFromGroup: (groupId: string, conversationIds: string[]) => void;
}

/** `messageService` events (docs/API.md "messageService"). */
export interface MessageListeners {
  /** Messages from others that became a conversation's last message. */
  onReceiveMessages: (messages: Message[]) => void;
  /** A message of this device changed its sending state ('succeeded' or 'failed'). */
  onSendMessage: (message: Message) => void;
}
