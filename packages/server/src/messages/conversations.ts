/**
 * Facts about a conversation that the server derives from its own tables: which stored message
 * stream it reads (the canonical key), whether an account belongs to it, its name and avatar,
 * a fresh server-initialised document, and its unread count recomputed from the message store.
 */
import {
  ConversationType,
  emptyConversation,
  normalizeConversation,
  type ConversationDoc,
  type ParsedConversationId,
} from '@convsync/protocol';
import type { StoreReader, StoreTx } from '../store/store.js';

/**
 * The key under which a conversation's messages are stored once: the sorted pair for P2P (alice
 * and bob read the same chat), the team id for teams.
 */
export function conversationKey(parsed: ParsedConversationId): string {
  if (parsed.type === ConversationType.P2P) {
    const [a, b] = parsed.selfId < parsed.targetId ? [parsed.selfId, parsed.targetId] : [parsed.targetId, parsed.selfId];
    return `${parsed.type}:${a}|${b}`;
  }
  return `${parsed.type}:${parsed.targetId}`;
}

export interface ConversationAccess {
  /** Whether the account belongs to the conversation (always for P2P; team membership otherwise). */
  member: boolean;
  name: string;
  avatar: string;
}

/** What `parsed.selfId` may see of the conversation: nothing of a team it is not in. */
export async function conversationAccess(reader: StoreReader, parsed: ParsedConversationId): Promise<ConversationAccess> {
  if (parsed.type === ConversationType.P2P) {
    const [user] = await reader.getUsers([parsed.targetId]);
    return { member: true, name: user?.name ?? '', avatar: user?.avatar ?? '' };
  }
  const team = await reader.getTeam(parsed.targetId);
  if (team === undefined || team.superTeam !== (parsed.type === ConversationType.SUPER_TEAM)) {
    return { member: false, name: '', avatar: '' };
  }
  if (!(await reader.isTeamMember(parsed.targetId, parsed.selfId))) return { member: false, name: '', avatar: '' };
  return { member: true, name: team.name, avatar: '' };
}

/** A conversation as the server first creates it: now, a fresh sort order, the profile's name. */
export async function initialConversation(
  tx: StoreTx,
  options: { conversationId: string; owner: string; now: number; access: ConversationAccess },
): Promise<ConversationDoc> {
  const [sortOrder] = await tx.nextSortOrders([options.owner], options.now);
  const doc = emptyConversation({ conversationId: options.conversationId, now: options.now });
  return normalizeConversation({
    ...doc,
    sortOrder: sortOrder ?? options.now,
    name: options.access.name,
    avatar: options.access.avatar,
  });
}

/**
 * The unread count from the message store: messages from others after the read time (which a
 * deletion raised) and after the cleared history. Zero for a conversation the reader is not in.
 */
export async function countUnread(
  reader: StoreReader,
  options: { parsed: ParsedConversationId; doc: ConversationDoc; member: boolean },
): Promise<number> {
  if (!options.member) return 0;
  return reader.countUnread({
    conversationKey: conversationKey(options.parsed),
    after: Math.max(options.doc.lastReadTime, options.doc.deletedBefore, options.doc.clearedBefore),
    reader: options.parsed.selfId,
  });
}
