/**
 * The conversation merge (docs/ARCHITECTURE.md "Merge rules"). One pure function runs in the engine's
 * replicator (its join of local and incoming documents) and in the server's push, so every replica converges on the same document
 * whatever order edits arrive in.
 *
 * Why it converges: every field is a join-semilattice and `merge` is their product —
 * - LWW registers keep the (value, stamp) with the larger stamp (stamps carry the device id, so two
 *   edits never tie; equal stamps with different values, which only a broken client could send, tie
 *   by value);
 * - max-registers keep the maximum;
 * - the deletion tombstone is a max-register of stamps;
 * - server-derived fields travel as one block versioned by `serverRev` (the server's change-log
 *   position): the larger revision wins the whole block; on equal revisions (two local views of the
 *   same server state) each field takes its own join: the newer last message with its unread
 *   count (the smaller count when the messages are the same: a local read only lowers it), the
 *   later sort order, the earlier creation.
 * Then `normalizeConversation` derives what follows from the joined state (defaults under the
 * tombstone, unread 0 once the read time reaches the last message, `groupIds`, `rank`,
 * `_deleted`). It depends only on the joined values, so the whole stays commutative, associative
 * and idempotent — which `test/merge.property.test.ts` checks on random documents.
 */
import { ConvSyncError, ErrorCode } from '../errors.js';
import { NO_STAMP, maxStamp, type Stamp } from '../hlc.js';
import type { ConversationDoc, GroupRegister } from '../documents/conversation.js';
import { compareLastMessages, lastMessageTime, type LastMessage } from '../documents/message.js';
import { parseConversationId } from '../ids.js';
import { compareJson } from './equal.js';
import { conversationRank } from './rank.js';

interface Register<T> {
  value: T;
  stamp: Stamp;
}

function lww<T>(a: Register<T>, b: Register<T>): Register<T> {
  if (a.stamp !== b.stamp) return a.stamp > b.stamp ? a : b;
  return compareJson(a.value, b.value) >= 0 ? a : b;
}

function mergeGroupRegisters(a: readonly GroupRegister[], b: readonly GroupRegister[]): GroupRegister[] {
  const byGroup = new Map<string, GroupRegister>();
  for (const register of [...a, ...b]) {
    const seen = byGroup.get(register.groupId);
    if (seen === undefined) {
      byGroup.set(register.groupId, register);
      continue;
    }
    const winner = lww({ value: seen.member, stamp: seen.stamp }, { value: register.member, stamp: register.stamp });
    byGroup.set(register.groupId, { groupId: register.groupId, member: winner.value, stamp: winner.stamp });
  }
  return [...byGroup.values()].sort((x, y) => (x.groupId < y.groupId ? -1 : x.groupId > y.groupId ? 1 : 0));
}

type ServerFields = Pick<ConversationDoc,
  'serverRev' | 'name' | 'avatar' | 'lastMessage' | 'unreadCount' | 'sortOrder' | 'createTime'>;

/** The server-derived block of a document. */
export function serverFieldsOf(doc: ConversationDoc): ServerFields {
  return {
    serverRev: doc.serverRev,
    name: doc.name,
    avatar: doc.avatar,
    lastMessage: doc.lastMessage,
    unreadCount: doc.unreadCount,
    sortOrder: doc.sortOrder,
    createTime: doc.createTime,
  };
}

/** Orders two last messages totally: by server time and id, then (only a broken peer differs
 * there) by content. */
function lastMessageOrder(a: LastMessage | null, b: LastMessage | null): number {
  return compareLastMessages(a, b) || compareJson(a, b);
}

function maxString(a: string, b: string): string {
  return a >= b ? a : b;
}

function mergeServerFields(a: ConversationDoc, b: ConversationDoc): ServerFields {
  if (a.serverRev !== b.serverRev) return serverFieldsOf(a.serverRev > b.serverRev ? a : b);
  // Equal revisions: two local views of one server state. The unread count belongs to its last
  // message (a count next to a newer message is the newer count); next to the same message a
  // local read only ever lowered it, so the smaller is the later.
  const order = lastMessageOrder(a.lastMessage, b.lastMessage);
  return {
    serverRev: a.serverRev,
    name: maxString(a.name, b.name),
    avatar: maxString(a.avatar, b.avatar),
    lastMessage: order >= 0 ? a.lastMessage : b.lastMessage,
    unreadCount: order > 0 ? a.unreadCount : order < 0 ? b.unreadCount : Math.min(a.unreadCount, b.unreadCount),
    sortOrder: Math.max(a.sortOrder, b.sortOrder),
    createTime: Math.min(a.createTime, b.createTime),
  };
}

/** Joins two versions of one conversation. Throws if they are not the same conversation. */
export function mergeConversation(a: ConversationDoc, b: ConversationDoc): ConversationDoc {
  if (a.conversationId !== b.conversationId) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'cannot merge two different conversations', {
      detail: { a: a.conversationId, b: b.conversationId },
    });
  }
  const stickTop = lww({ value: a.stickTop, stamp: a.clock.stickTop }, { value: b.stickTop, stamp: b.clock.stickTop });
  const mute = lww({ value: a.mute, stamp: a.clock.mute }, { value: b.mute, stamp: b.clock.mute });
  const serverExtension = lww(
    { value: a.serverExtension, stamp: a.clock.serverExtension },
    { value: b.serverExtension, stamp: b.clock.serverExtension },
  );
  return normalizeConversation({
    conversationId: a.conversationId,
    type: a.type,
    targetId: a.targetId,
    stickTop: stickTop.value,
    mute: mute.value,
    serverExtension: serverExtension.value,
    groups: mergeGroupRegisters(a.groups, b.groups),
    groupIds: [],
    lastReadTime: Math.max(a.lastReadTime, b.lastReadTime),
    deletedBefore: Math.max(a.deletedBefore, b.deletedBefore),
    clearedBefore: Math.max(a.clearedBefore, b.clearedBefore),
    ...mergeServerFields(a, b),
    updateTime: Math.max(a.updateTime, b.updateTime),
    rank: 0,
    clock: {
      created: maxStamp(a.clock.created, b.clock.created),
      stickTop: stickTop.stamp,
      mute: mute.stamp,
      serverExtension: serverExtension.stamp,
      deleted: maxStamp(a.clock.deleted, b.clock.deleted),
    },
    _deleted: false,
  });
}

/** The newest edit stamp of a document (the tombstone excluded). */
export function latestEditStamp(doc: ConversationDoc): Stamp {
  let latest = maxStamp(maxStamp(doc.clock.created, doc.clock.stickTop), maxStamp(doc.clock.mute, doc.clock.serverExtension));
  for (const register of doc.groups) latest = maxStamp(latest, register.stamp);
  return latest;
}

/**
 * Whether a conversation is shown: it is unless a tombstone is newer than every edit and no
 * message arrived after the messages it hid.
 */
export function isConversationVisible(doc: ConversationDoc): boolean {
  if (doc.clock.deleted === NO_STAMP) return true;
  if (latestEditStamp(doc) > doc.clock.deleted) return true;
  return lastMessageTime(doc.lastMessage) > doc.deletedBefore;
}

/**
 * Derives the dependent fields of a document from its registers. Idempotent; every writer (a
 * local edit, the server, the merge) passes its result through it.
 */
export function normalizeConversation(doc: ConversationDoc): ConversationDoc {
  const deleted = doc.clock.deleted;
  const live = (stamp: Stamp): boolean => deleted === NO_STAMP || stamp > deleted;
  const stickTop = live(doc.clock.stickTop) && doc.stickTop;
  const mute = live(doc.clock.mute) && doc.mute;
  const serverExtension = live(doc.clock.serverExtension) ? doc.serverExtension : '';
  const groups = [...doc.groups].sort((x, y) => (x.groupId < y.groupId ? -1 : x.groupId > y.groupId ? 1 : 0));
  const groupIds = groups.filter((g) => g.member && live(g.stamp)).map((g) => g.groupId);
  const lastReadTime = Math.max(doc.lastReadTime, doc.deletedBefore);
  const unreadCount = lastReadTime >= lastMessageTime(doc.lastMessage) ? 0 : doc.unreadCount;
  const next: ConversationDoc = {
    ...doc,
    stickTop,
    mute,
    serverExtension,
    groups,
    groupIds,
    lastReadTime,
    unreadCount,
    rank: conversationRank(stickTop, doc.sortOrder),
  };
  next._deleted = !isConversationVisible(next);
  return next;
}

export interface NewConversationOptions {
  conversationId: string;
  /** Creation time (server time, or the device's estimate of it). */
  now: number;
}

/** An empty conversation as the seed's `createConversation` makes it (no stamps yet). */
export function emptyConversation({ conversationId, now }: NewConversationOptions): ConversationDoc {
  const { type, targetId } = parseConversationId(conversationId);
  return normalizeConversation({
    conversationId,
    type,
    targetId,
    stickTop: false,
    mute: false,
    serverExtension: '',
    groups: [],
    groupIds: [],
    lastReadTime: 0,
    deletedBefore: 0,
    clearedBefore: 0,
    serverRev: 0,
    name: '',
    avatar: '',
    lastMessage: null,
    unreadCount: 0,
    sortOrder: now,
    createTime: now,
    updateTime: now,
    rank: 0,
    clock: { created: NO_STAMP, stickTop: NO_STAMP, mute: NO_STAMP, serverExtension: NO_STAMP, deleted: NO_STAMP },
    _deleted: false,
  });
}
