/** Local edits of a conversation group: LWW `name` / `serverExtension`, a final deletion stamp. */
import { ConvSyncError, ErrorCode, NO_STAMP, type ConversationGroupDoc } from '@convsync/protocol';
import type { EngineClock } from '../clock.js';

export function groupNotFound(groupId: string): ConvSyncError {
  return new ConvSyncError(ErrorCode.GROUP_NOT_FOUND, 'conversation group not found', { detail: { groupId } });
}

export function requireGroup(current: ConversationGroupDoc | undefined, groupId: string): ConversationGroupDoc {
  if (current === undefined || current._deleted) throw groupNotFound(groupId);
  return current;
}

export function createGroupEdit(clock: EngineClock, options: { name: string; serverExtension: string }) {
  return (current: ConversationGroupDoc | undefined, groupId: string): ConversationGroupDoc => {
    if (current !== undefined) {
      throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'conversation group id already used', { detail: { groupId } });
    }
    const now = clock.now();
    const stamp = clock.stamp();
    return {
      groupId,
      name: options.name,
      serverExtension: options.serverExtension,
      createTime: now,
      updateTime: now,
      clock: { name: stamp, serverExtension: stamp, deleted: NO_STAMP },
      _deleted: false,
    };
  };
}

export function updateGroupEdit(clock: EngineClock, options: { name?: string; serverExtension?: string }) {
  return (current: ConversationGroupDoc | undefined, groupId: string): ConversationGroupDoc | undefined => {
    const doc = requireGroup(current, groupId);
    const next = { ...doc, clock: { ...doc.clock } };
    if (options.name !== undefined) {
      next.name = options.name;
      next.clock.name = clock.stamp();
    }
    if (options.serverExtension !== undefined) {
      next.serverExtension = options.serverExtension;
      next.clock.serverExtension = clock.stamp();
    }
    next.updateTime = Math.max(doc.updateTime, clock.now());
    return next;
  };
}

export function deleteGroupEdit(clock: EngineClock) {
  return (current: ConversationGroupDoc | undefined, groupId: string): ConversationGroupDoc => {
    const doc = requireGroup(current, groupId);
    return {
      ...doc,
      updateTime: Math.max(doc.updateTime, clock.now()),
      clock: { ...doc.clock, deleted: clock.stamp() },
      _deleted: true,
    };
  };
}
