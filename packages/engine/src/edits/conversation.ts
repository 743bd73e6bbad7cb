/**
 * The local edits of a conversation (docs/API.md, docs/ARCHITECTURE.md "Merge rules"): each sets a register's value AND its stamp
 * (a fresh HLC tick), then `normalizeConversation` derives the rest (`_deleted`, unread, rank).
 * Read times and deletion bounds are server message times the device knows, never its clock.
 */
import {
  ConvSyncError,
  ErrorCode,
  emptyConversation,
  lastMessageTime,
  normalizeConversation,
  type ConversationDoc,
} from '@convsync/protocol';
import type { EngineClock } from '../clock.js';

export function notFound(conversationId: string): ConvSyncError {
  return new ConvSyncError(ErrorCode.CONVERSATION_NOT_FOUND, 'conversation not found', { detail: { conversationId } });
}

/** The visible document, or 110404. */
export function requireVisible(current: ConversationDoc | undefined, conversationId: string): ConversationDoc {
  if (current === undefined || current._deleted) throw notFound(conversationId);
  return current;
}

function touched(clock: EngineClock, doc: ConversationDoc, patch: Partial<ConversationDoc>): ConversationDoc {
  return normalizeConversation({ ...doc, ...patch, updateTime: Math.max(doc.updateTime, clock.now()) });
}

/** Creates a conversation, or revives a deleted one (a `created` stamp newer than its tombstone). */
export function createEdit(clock: EngineClock, conversationId: string) {
  return (current: ConversationDoc | undefined): ConversationDoc | undefined => {
    if (current !== undefined && !current._deleted) return undefined;
    const base = current ?? emptyConversation({ conversationId, now: clock.now() });
    return touched(clock, base, { clock: { ...base.clock, created: clock.stamp() } });
  };
}

export function stickTopEdit(clock: EngineClock, stickTop: boolean) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    const doc = requireVisible(current, id);
    if (doc.stickTop === stickTop) return undefined;
    return touched(clock, doc, { stickTop, clock: { ...doc.clock, stickTop: clock.stamp() } });
  };
}

export function muteEdit(clock: EngineClock, mute: boolean) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    const doc = requireVisible(current, id);
    if (doc.mute === mute) return undefined;
    return touched(clock, doc, { mute, clock: { ...doc.clock, mute: clock.stamp() } });
  };
}

export function serverExtensionEdit(clock: EngineClock, serverExtension: string) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    const doc = requireVisible(current, id);
    return touched(clock, doc, { serverExtension, clock: { ...doc.clock, serverExtension: clock.stamp() } });
  };
}

/** The read time a mark-read sets: the newest server message time the device knows. */
export function readTimeOf(doc: ConversationDoc): number {
  return Math.max(doc.lastReadTime, lastMessageTime(doc.lastMessage));
}

/** Marks read: unread shows 0 at once (normalize), the server's count wins when it answers. */
export function markReadEdit(clock: EngineClock) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    const doc = requireVisible(current, id);
    const lastReadTime = readTimeOf(doc);
    if (lastReadTime === doc.lastReadTime && doc.unreadCount === 0) return undefined;
    return touched(clock, doc, { lastReadTime });
  };
}

/** Deletes (a tombstone) and marks read; with `clearMessage` the history up to now is cleared too. */
export function deleteEdit(clock: EngineClock, clearMessage: boolean) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    const doc = requireVisible(current, id);
    const bound = readTimeOf(doc);
    return touched(clock, doc, {
      deletedBefore: Math.max(doc.deletedBefore, bound),
      clearedBefore: clearMessage ? Math.max(doc.clearedBefore, bound) : doc.clearedBefore,
      lastReadTime: bound,
      clock: { ...doc.clock, deleted: clock.stamp() },
    });
  };
}

/** Sets this conversation's membership register of `groupId`. */
export function groupMemberEdit(clock: EngineClock, options: { groupId: string; member: boolean; requireVisible: boolean }) {
  return (current: ConversationDoc | undefined, id: string): ConversationDoc | undefined => {
    if (current === undefined) {
      if (options.requireVisible) throw notFound(id);
      return undefined;
    }
    const doc = options.requireVisible ? requireVisible(current, id) : current;
    const isMember = doc.groupIds.includes(options.groupId);
    if (isMember === options.member && (options.member || !doc.groups.some((g) => g.groupId === options.groupId && g.member))) {
      return undefined;
    }
    const groups = doc.groups.filter((g) => g.groupId !== options.groupId);
    groups.push({ groupId: options.groupId, member: options.member, stamp: clock.stamp() });
    return touched(clock, doc, { groups });
  };
}
