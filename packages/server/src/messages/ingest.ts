/**
 * Message ingest: one transaction stores the message once (under its canonical conversation) and
 * updates every member's conversation document — last message, sort order, unread +1 for all but
 * the sender, revival of a deleted conversation (a message newer than the deletion shows it again,
 * and only what came after the deletion is unread) — then streams each member's change.
 *
 * `createTime` is strictly increasing per conversation (`max(now, last + 1)` under the
 * conversation's clock row), because read times are compared with message times. Sends are
 * idempotent by (sender, clientMessageId): a retry returns the stored message and changes nothing.
 *
 * Fan-out cost is a handful of statements per member with no per-member round trip that could be
 * batched: documents are read in one batch call, sort orders and log positions are taken in one.
 */
import {
  Collection,
  ConvSyncError,
  ConversationType,
  ErrorCode,
  LastMessageState,
  MessageType,
  SendingState,
  emptyConversation,
  normalizeConversation,
  previewText,
  type ConversationDoc,
  type LastMessage,
  type Message,
  type MessageType as MessageTypeValue,
  type ParsedConversationId,
} from '@convsync/protocol';
import type { DomainContext } from '../context.js';
import { ChangeSet } from '../sync/changes.js';
import type { StoreReader, StoredMessage } from '../store/store.js';
import { conversationKey } from './conversations.js';

export interface IngestRequest {
  senderId: string;
  /** As the sender sees it: `<sender>|<type>|<target>`, already parsed. */
  conversation: ParsedConversationId;
  clientMessageId: string;
  text: string;
  messageType?: MessageTypeValue;
  serverExtension?: string;
}

/** The conversation id of a stored message as `reader` sees it. */
export function conversationIdFor(reader: string, message: Pick<Message, 'conversationType' | 'senderId' | 'receiverId'>): string {
  if (message.conversationType === ConversationType.P2P) {
    const peer = reader === message.senderId ? message.receiverId : message.senderId;
    return `${reader}|${message.conversationType}|${peer}`;
  }
  return `${reader}|${message.conversationType}|${message.receiverId}`;
}

/** A stored message as `reader` sees it. */
export function messageFor(reader: string, stored: StoredMessage): Message {
  const message = JSON.parse(stored.json) as Message;
  return { ...message, conversationId: conversationIdFor(reader, message) };
}

/** Who receives a message: the pair of a P2P chat, the members of a team (the sender must be one). */
export async function conversationMembers(reader: StoreReader, parsed: ParsedConversationId): Promise<string[]> {
  // Sorted: rows of several owners are always locked in the same order (no deadlock between a
  // message from alice to bob and one from bob to alice on a backend with row locks).
  if (parsed.type === ConversationType.P2P) {
    return [...new Set([parsed.selfId, parsed.targetId])].sort();
  }
  const team = await reader.getTeam(parsed.targetId);
  if (team === undefined || team.superTeam !== (parsed.type === ConversationType.SUPER_TEAM)) {
    throw new ConvSyncError(ErrorCode.NOT_FOUND, 'team not found', { detail: { teamId: parsed.targetId, type: parsed.type } });
  }
  const members = await reader.getTeamMembers(parsed.targetId);
  if (!members.includes(parsed.selfId)) {
    throw new ConvSyncError(ErrorCode.FORBIDDEN, 'the account is not a member of this team', { detail: { teamId: parsed.targetId } });
  }
  return [...members].sort();
}

/** Stores a message and fans it out; returns it as the sender sees it. */
export async function ingestMessage(ctx: DomainContext, request: IngestRequest): Promise<Message> {
  const parsed = request.conversation;
  if (parsed.selfId !== request.senderId) {
    throw new ConvSyncError(ErrorCode.FORBIDDEN, 'a message is sent from the sender\'s own conversation id');
  }
  return ctx.store.transaction(async (tx) => {
    const duplicate = await tx.findMessageByClientId(request.senderId, request.clientMessageId);
    if (duplicate !== undefined) return messageFor(request.senderId, duplicate);

    const members = await conversationMembers(tx, parsed);
    const key = conversationKey(parsed);
    const createTime = await tx.nextMessageTime(key, ctx.now());
    const profiles = new Map((await tx.getUsers(parsed.type === ConversationType.P2P ? members : [request.senderId]))
      .map((user) => [user.accountId, user]));
    const team = parsed.type === ConversationType.P2P ? undefined : await tx.getTeam(parsed.targetId);
    const message: Message = {
      messageClientId: request.clientMessageId,
      messageServerId: ctx.newMessageId(),
      conversationId: conversationIdFor(request.senderId, { conversationType: parsed.type, senderId: request.senderId, receiverId: parsed.targetId }),
      conversationType: parsed.type,
      senderId: request.senderId,
      receiverId: parsed.targetId,
      senderName: profiles.get(request.senderId)?.name ?? '',
      messageType: request.messageType ?? MessageType.TEXT,
      text: request.text,
      serverExtension: request.serverExtension ?? '',
      createTime,
      sendingState: SendingState.SUCCEEDED,
    };
    await tx.insertMessage({
      conversationKey: key,
      messageServerId: message.messageServerId,
      senderId: message.senderId,
      clientMessageId: message.messageClientId,
      createTime,
      json: JSON.stringify(message),
    });

    const ids = members.map((member) => conversationIdFor(member, message));
    await tx.lockLogs(Collection.CONVERSATIONS, members);
    const stored = await tx.getDocs(Collection.CONVERSATIONS, members.map((owner, i) => ({ owner, id: ids[i] as string })));
    const sortOrders = await tx.nextSortOrders(members, createTime);
    const changes = new ChangeSet();
    members.forEach((member, i) => {
      const id = ids[i] as string;
      const row = stored[i];
      let base: ConversationDoc;
      if (row === undefined) {
        const peer = parsed.type === ConversationType.P2P ? profiles.get(member === message.senderId ? message.receiverId : message.senderId) : undefined;
        base = {
          ...emptyConversation({ conversationId: id, now: createTime }),
          name: (parsed.type === ConversationType.P2P ? peer?.name : team?.name) ?? '',
          avatar: peer?.avatar ?? '',
        };
      } else {
        base = JSON.parse(row.json) as ConversationDoc;
      }
      const lastMessage: LastMessage = {
        messageRefer: {
          senderId: message.senderId,
          receiverId: message.receiverId,
          messageClientId: message.messageClientId,
          messageServerId: message.messageServerId,
          conversationType: message.conversationType,
          conversationId: id,
          createTime,
        },
        lastMessageState: LastMessageState.DEFAULT,
        messageType: message.messageType,
        text: previewText(message.text),
        senderName: message.senderName,
      };
      changes.putConversation(member, normalizeConversation({
        ...base,
        lastMessage,
        // The stored count is the count after the read time (a deletion raised it), so +1 is exact.
        unreadCount: member === message.senderId ? base.unreadCount : base.unreadCount + 1,
        sortOrder: sortOrders[i] ?? createTime,
        updateTime: Math.max(base.updateTime, createTime),
      }));
    });
    await changes.commit(tx, ctx.publish);
    return message;
  });
}
