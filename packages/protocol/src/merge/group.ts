/**
 * The conversation-group merge: `name` and `serverExtension` are LWW registers, the deletion is a
 * stamp that, once set, deletes the group for good (group ids are generated and never reused).
 */
import { ConvSyncError, ErrorCode } from '../errors.js';
import { NO_STAMP, maxStamp } from '../hlc.js';
import type { ConversationGroupDoc } from '../documents/group.js';
import { compareJson } from './equal.js';

function pick<T>(va: T, sa: string, vb: T, sb: string): T {
  if (sa !== sb) return sa > sb ? va : vb;
  return compareJson(va, vb) >= 0 ? va : vb;
}

export function mergeConversationGroup(a: ConversationGroupDoc, b: ConversationGroupDoc): ConversationGroupDoc {
  if (a.groupId !== b.groupId) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'cannot merge two different groups', {
      detail: { a: a.groupId, b: b.groupId },
    });
  }
  const deleted = maxStamp(a.clock.deleted, b.clock.deleted);
  return {
    groupId: a.groupId,
    name: pick(a.name, a.clock.name, b.name, b.clock.name),
    serverExtension: pick(a.serverExtension, a.clock.serverExtension, b.serverExtension, b.clock.serverExtension),
    createTime: Math.min(a.createTime, b.createTime),
    updateTime: Math.max(a.updateTime, b.updateTime),
    clock: {
      name: maxStamp(a.clock.name, b.clock.name),
      serverExtension: maxStamp(a.clock.serverExtension, b.clock.serverExtension),
      deleted,
    },
    _deleted: deleted !== NO_STAMP,
  };
}
