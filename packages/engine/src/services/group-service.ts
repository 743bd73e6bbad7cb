/**
 * `conversationGroupService` (docs/API.md "conversationGroupService"): groups (folders) replicate like conversations. A group
 * is its own document (LWW name/extension, final deletion); membership lives in each
 * conversation's `groups` registers, so adding and removing are conversation edits that merge
 * per group. Deleting a group tombstones it and writes `member: false` into its conversations.
 */
import { ConvSyncError, ErrorCode, Limits, invalidParameter, type ConversationDoc, type ConversationGroupDoc } from '@convsync/protocol';
import { groupMemberEdit, requireVisible } from '../edits/conversation.js';
import { createGroupEdit, deleteGroupEdit, groupNotFound, updateGroupEdit } from '../edits/group.js';
import { applyEdits, applyEditsNow, exclusive, type EditResult } from '../edits/write.js';
import { toGroup } from '../views/conversation-object.js';
import { call, chunks, type ServiceCore } from './core.js';
import type { ConversationGroup, ConversationGroupListeners, ConversationGroupResult, ConversationOperationResult } from './types.js';
import { checkConversationIds, checkGroupId, checkGroupIds, checkName, checkServerExtension } from './validate.js';

/**
 * Conversation groups (folders) (docs/API.md "conversationGroupService"): replicated like conversations.
 *
 * @example
 * ```ts
 * const { group, failedList } = await engine.conversationGroupService
 *   .createConversationGroup('Work', '', ['alice|2|team1']);
 * const unread = await engine.conversationService.getUnreadCountByFilter({ conversationGroupId: group.groupId });
 * ```
 */
export interface ConversationGroupService {
  /** Adds a listener; the function returned removes that listener. */
  on<K extends keyof ConversationGroupListeners>(event: K, listener: ConversationGroupListeners[K]): () => void;
  /** Removes one listener, or every listener of `event` when `listener` is absent. */
  off<K extends keyof ConversationGroupListeners>(event: K, listener?: ConversationGroupListeners[K]): void;
  /** Removes every listener of `event`, or every listener of this service when `event` is absent. */
  removeAllListeners(event?: keyof ConversationGroupListeners): void;
  createConversationGroup(name: string, serverExtension?: string, conversationIds?: string[]): Promise<ConversationGroupResult>;
  deleteConversationGroup(groupId: string): Promise<void>;
  updateConversationGroup(groupId: string, name?: string, serverExtension?: string): Promise<void>;
  /** Returns the conversations that could not be added. */
  addConversationsToGroup(groupId: string, conversationIds: string[]): Promise<ConversationOperationResult[]>;
  /** Returns the conversations that could not be removed. */
  removeConversationsFromGroup(groupId: string, conversationIds: string[]): Promise<ConversationOperationResult[]>;
  getConversationGroup(groupId: string): Promise<ConversationGroup>;
  getConversationGroupList(): Promise<ConversationGroup[]>;
  getConversationGroupListByIds(groupIds: string[]): Promise<ConversationGroup[]>;
}

/** A group id: random, valid per the protocol's id rules. */
export function newGroupId(): string {
  return `g-${globalThis.crypto.randomUUID()}`;
}

function failures(result: EditResult<ConversationDoc>): ConversationOperationResult[] {
  return [...result.failed].map(([conversationId, error]) => ({ conversationId, error }));
}

function byCreateTime(a: ConversationGroupDoc, b: ConversationGroupDoc): number {
  return a.createTime - b.createTime || (a.groupId < b.groupId ? -1 : 1);
}

export function createConversationGroupService(
  core: ServiceCore,
  options: { newGroupId?: () => string } = {},
): ConversationGroupService {
  const { ctx, index } = core;
  const groups = ctx.replica.groups;
  const conversations = ctx.replica.conversations;
  const clock = ctx.clock;
  const nextId = options.newGroupId ?? newGroupId;

  async function requireGroupDoc(groupId: string): Promise<ConversationGroupDoc> {
    const found = await groups.findOne(groupId).exec();
    if (found === null) throw groupNotFound(groupId);
    return found._data;
  }

  function membersOf(groupId: string): number {
    let count = 0;
    for (const [, facts] of index.visible()) if (facts.groupIds.includes(groupId)) count++;
    return count;
  }

  async function addTo(groupId: string, ids: string[]): Promise<ConversationOperationResult[]> {
    await core.ready;
    return exclusive(conversations, async () => {
      await requireGroupDoc(groupId);
      let members = membersOf(groupId);
      const joined = new Set<string>();
      const result = await applyEditsNow(conversations, ids, (current, id) => {
        const doc = requireVisible(current, id);
        if (doc.groupIds.includes(groupId)) return undefined;
        if (doc.groupIds.length >= Limits.MAX_GROUPS_PER_CONVERSATION) {
          throw new ConvSyncError(ErrorCode.TOO_MANY_GROUPS_FOR_CONVERSATION,
            `a conversation is in at most ${Limits.MAX_GROUPS_PER_CONVERSATION} groups`, { detail: { conversationId: id } });
        }
        if (!joined.has(id)) {
          if (members >= Limits.MAX_CONVERSATIONS_PER_GROUP) {
            throw new ConvSyncError(ErrorCode.TOO_MANY_CONVERSATIONS_IN_GROUP,
              `a group holds at most ${Limits.MAX_CONVERSATIONS_PER_GROUP} conversations`, { detail: { groupId } });
          }
          members++;
          joined.add(id);
        }
        return groupMemberEdit(clock, { groupId, member: true, requireVisible: true })(doc, id);
      });
      return failures(result);
    });
  }

  return {
    on: (event, listener) => core.groupEvents.on(event, listener),
    off: (event, listener) => core.groupEvents.off(event, listener),
    removeAllListeners: (event) => core.groupEvents.removeAllListeners(event),

    createConversationGroup: (name, serverExtension = '', conversationIds = []) => call(core, async () => {
      const groupName = checkName(name, 'name');
      if (groupName.length === 0) throw invalidParameter('a group needs a name');
      const extension = checkServerExtension(serverExtension);
      const ids = checkConversationIds(ctx.accountId, conversationIds);
      const groupId = nextId();
      const group = await exclusive(groups, async () => {
        const count = await groups.count().exec();
        if (count >= Limits.MAX_GROUPS) {
          throw new ConvSyncError(ErrorCode.TOO_MANY_GROUPS, `at most ${Limits.MAX_GROUPS} conversation groups`);
        }
        const result = await applyEditsNow(groups, [groupId], createGroupEdit(clock, { name: groupName, serverExtension: extension }));
        const failed = result.failed.get(groupId);
        if (failed !== undefined) throw failed;
        const doc = result.docs.get(groupId);
        if (doc === undefined) throw groupNotFound(groupId);
        return doc;
      });
      const failedList = ids.length === 0 ? [] : await addTo(groupId, ids);
      return { group: toGroup(group), failedList };
    }),

    deleteConversationGroup: (groupId) => call(core, async () => {
      const id = checkGroupId(groupId);
      const result = await applyEdits(groups, [id], deleteGroupEdit(clock));
      const failed = result.failed.get(id);
      if (failed !== undefined) throw failed;
      await core.ready;
      const members = [...index.visible()].filter(([, facts]) => facts.groupIds.includes(id)).map(([cid]) => cid);
      for (const slice of chunks(members, 500)) {
        await applyEdits(conversations, slice, groupMemberEdit(clock, { groupId: id, member: false, requireVisible: false }));
      }
    }),

    updateConversationGroup: (groupId, name, serverExtension) => call(core, async () => {
      const id = checkGroupId(groupId);
      const update: { name?: string; serverExtension?: string } = {};
      if (name !== undefined) {
        update.name = checkName(name, 'name');
        if (update.name.length === 0) throw invalidParameter('a group needs a name');
      }
      if (serverExtension !== undefined) update.serverExtension = checkServerExtension(serverExtension);
      if (update.name === undefined && update.serverExtension === undefined) throw invalidParameter('nothing to update');
      const result = await applyEdits(groups, [id], updateGroupEdit(clock, update));
      const failed = result.failed.get(id);
      if (failed !== undefined) throw failed;
    }),

    addConversationsToGroup: (groupId, conversationIds) => call(core, () =>
      addTo(checkGroupId(groupId), checkConversationIds(ctx.accountId, conversationIds))),

    removeConversationsFromGroup: (groupId, conversationIds) => call(core, async () => {
      const id = checkGroupId(groupId);
      const ids = checkConversationIds(ctx.accountId, conversationIds);
      await requireGroupDoc(id);
      return failures(await applyEdits(conversations, ids, groupMemberEdit(clock, { groupId: id, member: false, requireVisible: true })));
    }),

    getConversationGroup: (groupId) => call(core, async () => toGroup(await requireGroupDoc(checkGroupId(groupId)))),

    getConversationGroupList: () => call(core, async () => {
      const docs = await groups.find().exec();
      return docs.map((rx) => rx._data as ConversationGroupDoc).sort(byCreateTime).map(toGroup);
    }),

    getConversationGroupListByIds: (groupIds) => call(core, async () => {
      const ids = checkGroupIds(groupIds);
      const found = await groups.findByIds(ids).exec();
      return [...found.values()].map((rx) => rx._data as ConversationGroupDoc)
        .filter((doc) => !doc._deleted).sort(byCreateTime).map(toGroup);
    }),
  };
}
