/**
 * The events of all three services, derived from the replica's change streams (previous and new
 * document of each change). Local edits and pulled changes go through the same stream, so every
 * event fires on every device of the account. One bulk of changes (a pulled page, a batch call)
 * fires each event once with everything it touched.
 */
import type { Subscription } from 'rxjs';
import type { RxChangeEventBulk, RxDocumentData } from 'rxdb';
import {
  SendingState,
  compareLastMessages,
  jsonEqual,
  type ConversationDoc,
  type ConversationGroupDoc,
  type Message,
} from '@convsync/protocol';
import { toConversation, toGroup } from '../views/conversation-object.js';
import { present, type ServiceCore } from './core.js';
import type { Conversation } from './types.js';

/** The last message of `doc` as a received message. */
function receivedMessage(doc: ConversationDoc): Message | null {
  const last = doc.lastMessage;
  if (last === null) return null;
  return {
    messageClientId: last.messageRefer.messageClientId,
    messageServerId: last.messageRefer.messageServerId,
    conversationId: doc.conversationId,
    conversationType: doc.type,
    senderId: last.messageRefer.senderId,
    receiverId: last.messageRefer.receiverId,
    senderName: last.senderName,
    messageType: last.messageType,
    text: last.text,
    serverExtension: '',
    createTime: last.messageRefer.createTime,
    sendingState: SendingState.SUCCEEDED,
  };
}

// Change events carry RxDB's document data (the document plus `_meta`, `_rev`, `_attachments`):
// every reader below only reads fields, so it is used as is — no copy per pulled document.
function orNull<T>(data: RxDocumentData<T> | null | undefined): RxDocumentData<T> | null {
  return data ?? null;
}

export function startChangeEvents(core: ServiceCore): Subscription {
  const { ctx } = core;
  // A conversation inserted (not updated) with an old last message is history arriving (a fresh
  // device's first sync), not a message being received.
  const startedAt = ctx.clock.now();

  function onConversations(bulk: RxChangeEventBulk<ConversationDoc>): void {
    const ce = core.conversationEvents;
    const ge = core.groupEvents;
    const created: Conversation[] = [];
    const changed: Conversation[] = [];
    const deleted: string[] = [];
    const readTimes: [string, number][] = [];
    const added = new Map<string, Conversation[]>();
    const removed = new Map<string, string[]>();
    const received: Message[] = [];
    const wantChanged = ce.has('onConversationChanged');
    const wantCreated = ce.has('onConversationCreated');
    const wantGroups = ge.has('onConversationsAddedToGroup') || ge.has('onConversationsRemovedFromGroup');
    const wantReceived = core.messageEvents.has('onReceiveMessages');
    // Nobody listens (a fresh device's first sync, before the app subscribes): nothing to work out.
    if (!wantChanged && !wantCreated && !wantGroups && !wantReceived &&
      !ce.has('onConversationDeleted') && !ce.has('onConversationReadTimeUpdated')) return;
    for (const event of bulk.events) {
      const next = event.documentData;
      const prev = orNull(event.previousDocumentData);
      const wasVisible = prev !== null && !prev._deleted;
      const isVisible = !next._deleted;
      if (!wasVisible && isVisible) {
        if (wantCreated) created.push(present(core, next));
      } else if (wasVisible && !isVisible) {
        deleted.push(next.conversationId);
      } else if (wasVisible && isVisible && wantChanged && !jsonEqual(toConversation(prev), toConversation(next))) {
        changed.push(present(core, next));
      }
      if (!isVisible) continue;
      if (wasVisible && next.lastReadTime > prev.lastReadTime) readTimes.push([next.conversationId, next.lastReadTime]);
      if (wantGroups) {
        const before = wasVisible ? prev.groupIds : [];
        for (const groupId of next.groupIds) {
          if (!before.includes(groupId)) added.set(groupId, [...(added.get(groupId) ?? []), present(core, next)]);
        }
        for (const groupId of before) {
          if (!next.groupIds.includes(groupId)) removed.set(groupId, [...(removed.get(groupId) ?? []), next.conversationId]);
        }
      }
      const last = next.lastMessage;
      if (wantReceived && last !== null && last.messageRefer.senderId !== ctx.accountId &&
        compareLastMessages(last, prev?.lastMessage ?? null) > 0 &&
        (wasVisible || last.messageRefer.createTime >= startedAt)) {
        const message = receivedMessage(next);
        if (message !== null) received.push(message);
      }
    }
    for (const conversation of created) ce.emit('onConversationCreated', conversation);
    if (changed.length > 0) ce.emit('onConversationChanged', changed);
    if (deleted.length > 0) ce.emit('onConversationDeleted', deleted);
    for (const [id, time] of readTimes) ce.emit('onConversationReadTimeUpdated', id, time);
    for (const [groupId, list] of added) ge.emit('onConversationsAddedToGroup', groupId, list);
    for (const [groupId, ids] of removed) ge.emit('onConversationsRemovedFromGroup', groupId, ids);
    if (received.length > 0) core.messageEvents.emit('onReceiveMessages', received);
  }

  function onGroups(bulk: RxChangeEventBulk<ConversationGroupDoc>): void {
    const ge = core.groupEvents;
    for (const event of bulk.events) {
      const next = event.documentData;
      const prev = orNull(event.previousDocumentData);
      const wasVisible = prev !== null && !prev._deleted;
      if (!wasVisible && !next._deleted) ge.emit('onConversationGroupCreated', toGroup(next));
      else if (wasVisible && next._deleted) ge.emit('onConversationGroupDeleted', next.groupId);
      else if (wasVisible && !jsonEqual(toGroup(prev), toGroup(next))) ge.emit('onConversationGroupChanged', toGroup(next));
    }
  }

  /** A local extension or a pending send changed what a conversation looks like. */
  async function onLocal(ids: string[]): Promise<void> {
    if (!core.conversationEvents.has('onConversationChanged')) return;
    const found = await ctx.replica.conversations.findByIds(ids).exec();
    const changed = [...found.values()]
      .map((rx) => rx._data as ConversationDoc)
      .filter((doc) => !doc._deleted)
      .map((doc) => present(core, doc));
    if (changed.length > 0) core.conversationEvents.emit('onConversationChanged', changed);
  }

  const guard = <T>(fn: (value: T) => void) => (value: T): void => {
    try {
      fn(value);
    } catch (error) {
      ctx.reportError(error);
    }
  };

  const subscription = ctx.replica.conversations.eventBulks$.subscribe(guard(onConversations));
  subscription.add(ctx.replica.groups.eventBulks$.subscribe(guard(onGroups)));
  subscription.add(core.local.changes$.subscribe((ids) => {
    onLocal(ids).catch((error: unknown) => ctx.reportError(error));
  }));
  return subscription;
}
