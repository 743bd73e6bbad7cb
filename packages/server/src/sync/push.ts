/**
 * `sync:push`: merges a device's rows into the account's masters with the shared merge rules, in
 * one transaction per batch.
 *
 * The server never trusts what it derives itself: the pushed document's server block (last
 * message, unread, sort order, name, …) is replaced by the stored one before the merge, and a read
 * time that moved recomputes unread from the message store. A result equal to the stored master
 * (ignoring `serverRev`) writes nothing, so a replayed or reordered batch is a no-op; the merge is
 * commutative, associative and idempotent, so concurrent batches converge whatever their order.
 */
import {
  Collection,
  ConvSyncError,
  ErrorCode,
  invalidParameter,
  jsonEqual,
  mergeConversation,
  mergeConversationGroup,
  normalizeConversation,
  serverFieldsOf,
  tryParseConversationId,
  type ConversationDoc,
  type ConversationGroupDoc,
  type ParsedConversationId,
  type PushRequest,
  type PushResponse,
} from '@convsync/protocol';
import type { DomainContext } from '../context.js';
import { conversationAccess, countUnread, initialConversation, type ConversationAccess } from '../messages/conversations.js';
import type { StoreTx } from '../store/store.js';
import { ChangeSet, writtenKey } from './changes.js';

type ConversationRows = Extract<PushRequest, { collection: 'conversations' }>['rows'];
type GroupRows = Extract<PushRequest, { collection: 'conversationGroups' }>['rows'];

/** Merges `request` into `owner`'s masters; answers the merged master of every row the device lacks. */
export async function push(ctx: DomainContext, owner: string, request: PushRequest): Promise<PushResponse> {
  if (request.collection === Collection.CONVERSATIONS) {
    return { collection: Collection.CONVERSATIONS, conflicts: await pushConversations(ctx, owner, request.rows) };
  }
  return { collection: Collection.CONVERSATION_GROUPS, conflicts: await pushGroups(ctx, owner, request.rows) };
}

function sameIgnoringRev(a: ConversationDoc, b: ConversationDoc): boolean {
  return jsonEqual({ ...a, serverRev: 0 }, { ...b, serverRev: 0 });
}

/** Refuses the whole batch unless every row is a well-formed conversation of `owner`. */
function checkOwnership(owner: string, rows: ConversationRows): ParsedConversationId[] {
  return rows.map((row) => {
    const doc = row.newDocumentState;
    const parsed = tryParseConversationId(doc.conversationId);
    if (parsed === null) throw invalidParameter('malformed conversation id', { conversationId: doc.conversationId });
    if (parsed.selfId !== owner) {
      throw new ConvSyncError(ErrorCode.FORBIDDEN, 'a push may only write the account\'s own conversations', {
        detail: { conversationId: doc.conversationId },
      });
    }
    if (parsed.type !== doc.type || parsed.targetId !== doc.targetId) {
      throw invalidParameter('type and targetId must match the conversation id', { conversationId: doc.conversationId });
    }
    return parsed;
  });
}

async function pushConversations(ctx: DomainContext, owner: string, rows: ConversationRows): Promise<ConversationDoc[]> {
  const parsedRows = checkOwnership(owner, rows);
  return ctx.store.transaction(async (tx) => {
    await tx.lockLogs(Collection.CONVERSATIONS, [owner]);
    const ids = [...new Set(rows.map((row) => row.newDocumentState.conversationId))];
    const stored = await tx.getDocs(Collection.CONVERSATIONS, ids.map((id) => ({ owner, id })));
    const masters = new Map<string, ConversationDoc>();
    ids.forEach((id, i) => {
      const row = stored[i];
      if (row !== undefined) masters.set(id, JSON.parse(row.json) as ConversationDoc);
    });
    const changes = new ChangeSet();
    const deletedGroups = new Map<string, ConversationGroupDoc | null>();
    const now = ctx.now();
    for (const [i, row] of rows.entries()) {
      const parsed = parsedRows[i] as ParsedConversationId;
      const id = row.newDocumentState.conversationId;
      let access: ConversationAccess | undefined;
      let base = masters.get(id);
      const created = base === undefined;
      if (base === undefined) {
        access = await conversationAccess(tx, parsed);
        base = await initialConversation(tx, { conversationId: id, owner, now, access });
      }
      // The device's copy of the server block is only a cache: the stored one is the truth.
      const pushed = { ...row.newDocumentState, ...serverFieldsOf(base) };
      let merged = mergeConversation(base, pushed);
      if (created || merged.lastReadTime !== base.lastReadTime || merged.deletedBefore !== base.deletedBefore ||
        merged.clearedBefore !== base.clearedBefore) {
        access ??= await conversationAccess(tx, parsed);
        const unreadCount = await countUnread(tx, { parsed, doc: merged, member: access.member });
        merged = normalizeConversation({ ...merged, unreadCount });
      }
      merged = await leaveDeletedGroups(tx, { owner, doc: merged, groups: deletedGroups });
      if (!created && sameIgnoringRev(merged, base)) continue;
      masters.set(id, merged);
      changes.putConversation(owner, merged);
    }
    const written = await changes.commit(tx, ctx.publish);
    const conflicts: ConversationDoc[] = [];
    for (const row of rows) {
      const id = row.newDocumentState.conversationId;
      const master = (written.get(writtenKey(owner, id)) as ConversationDoc | undefined) ?? masters.get(id);
      if (master !== undefined && !jsonEqual(master, row.newDocumentState)) conflicts.push(master);
    }
    return conflicts;
  });
}

async function pushGroups(ctx: DomainContext, owner: string, rows: GroupRows): Promise<ConversationGroupDoc[]> {
  return ctx.store.transaction(async (tx) => {
    // A deleted group rewrites the owner's conversations too.
    await tx.lockLogs(Collection.CONVERSATIONS, [owner]);
    await tx.lockLogs(Collection.CONVERSATION_GROUPS, [owner]);
    const ids = [...new Set(rows.map((row) => row.newDocumentState.groupId))];
    const stored = await tx.getDocs(Collection.CONVERSATION_GROUPS, ids.map((id) => ({ owner, id })));
    const masters = new Map<string, ConversationGroupDoc>();
    ids.forEach((id, i) => {
      const row = stored[i];
      if (row !== undefined) masters.set(id, JSON.parse(row.json) as ConversationGroupDoc);
    });
    const changes = new ChangeSet();
    for (const row of rows) {
      const pushed = row.newDocumentState;
      const base = masters.get(pushed.groupId);
      const merged = mergeConversationGroup(base ?? pushed, pushed);
      if (base !== undefined && jsonEqual(merged, base)) continue;
      masters.set(pushed.groupId, merged);
      changes.putGroup(owner, merged);
      if (merged._deleted && base?._deleted !== true) await leaveDeletedGroup(tx, { owner, group: merged, changes });
    }
    await changes.commit(tx, ctx.publish);
    const conflicts: ConversationGroupDoc[] = [];
    for (const row of rows) {
      const master = masters.get(row.newDocumentState.groupId);
      if (master !== undefined && !jsonEqual(master, row.newDocumentState)) conflicts.push(master);
    }
    return conflicts;
  });
}

/**
 * A deleted group leaves every conversation of the owner in the same transaction: a membership
 * register `false` stamped with the deletion, so it also wins over the older adds on devices.
 */
async function leaveDeletedGroup(
  tx: StoreTx,
  options: { owner: string; group: ConversationGroupDoc; changes: ChangeSet },
): Promise<void> {
  const { owner, group, changes } = options;
  for (const row of await tx.findConversationsInGroup(owner, group.groupId)) {
    const conversation = JSON.parse(row.json) as ConversationDoc;
    const leaving = { ...conversation, groups: [{ groupId: group.groupId, member: false, stamp: group.clock.deleted }] };
    const merged = mergeConversation(conversation, leaving);
    if (!sameIgnoringRev(merged, conversation)) changes.putConversation(owner, merged);
  }
}

/**
 * A conversation pushed into a group that is already deleted (a device added it offline, before it
 * learnt of the deletion) leaves it again: the deletion's register wins over the older add.
 * `groups` caches the owner's group documents (null: absent or live) across a batch.
 */
async function leaveDeletedGroups(
  tx: StoreTx,
  options: { owner: string; doc: ConversationDoc; groups: Map<string, ConversationGroupDoc | null> },
): Promise<ConversationDoc> {
  const { owner, groups } = options;
  const unknown = options.doc.groupIds.filter((groupId) => !groups.has(groupId));
  if (unknown.length > 0) {
    const rows = await tx.getDocs(Collection.CONVERSATION_GROUPS, unknown.map((id) => ({ owner, id })));
    unknown.forEach((groupId, i) => {
      const row = rows[i];
      const group = row === undefined ? null : (JSON.parse(row.json) as ConversationGroupDoc);
      groups.set(groupId, group?._deleted === true ? group : null);
    });
  }
  let doc = options.doc;
  for (const groupId of doc.groupIds) {
    const group = groups.get(groupId);
    if (group === undefined || group === null) continue;
    doc = mergeConversation(doc, { ...doc, groups: [{ groupId, member: false, stamp: group.clock.deleted }] });
  }
  return doc;
}
