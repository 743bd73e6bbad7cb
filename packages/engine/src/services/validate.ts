/** Validation of call arguments (docs/API.md "Errors and error codes"): everything from the app is checked before it is used. */
import {
  Limits,
  invalidParameter,
  isConversationType,
  isValidId,
  tryParseConversationId,
  utf8Length,
  type ConversationType,
} from '@convsync/protocol';

/** A conversation id of this account, or 191004. */
export function checkConversationId(accountId: string, id: unknown): string {
  const parsed = tryParseConversationId(id);
  if (parsed === null) {
    throw invalidParameter('malformed conversation id (expected <self>|<type>|<target>)', {
      conversationId: typeof id === 'string' ? id.slice(0, 300) : typeof id,
    });
  }
  if (parsed.selfId !== accountId) {
    throw invalidParameter('conversation id of another account', { conversationId: id as string, accountId });
  }
  return id as string;
}

/** A batch of conversation ids (at most 100), each of this account. */
export function checkConversationIds(accountId: string, ids: unknown): string[] {
  if (!Array.isArray(ids)) throw invalidParameter('conversationIds must be an array');
  if (ids.length > Limits.MAX_BATCH_IDS) {
    throw invalidParameter(`at most ${Limits.MAX_BATCH_IDS} ids in one call`, { count: ids.length });
  }
  return [...new Set(ids.map((id) => checkConversationId(accountId, id)))];
}

export function checkGroupId(id: unknown): string {
  if (!isValidId(id)) throw invalidParameter('malformed conversation group id', { groupId: typeof id === 'string' ? id.slice(0, 200) : typeof id });
  return id;
}

export function checkGroupIds(ids: unknown): string[] {
  if (!Array.isArray(ids)) throw invalidParameter('groupIds must be an array');
  if (ids.length > Limits.MAX_BATCH_IDS) throw invalidParameter(`at most ${Limits.MAX_BATCH_IDS} ids in one call`, { count: ids.length });
  return [...new Set(ids.map(checkGroupId))];
}

/** A page limit: an integer ≥ 1; above 100 it is capped, not refused. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw invalidParameter('limit must be an integer ≥ 1', { limit: String(limit).slice(0, 50) });
  }
  return Math.min(limit, Limits.MAX_PAGE_LIMIT);
}

/** A page cursor: 0 or a previous page's `offset`. */
export function checkOffset(offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalidParameter('offset must be 0 or a returned offset', { offset: String(offset).slice(0, 50) });
  }
  return offset;
}

export function checkTypes(types: unknown): ConversationType[] {
  if (!Array.isArray(types) || types.length === 0 || types.length > 10 || !types.every(isConversationType)) {
    throw invalidParameter('conversationTypes must be a non-empty array of conversation types');
  }
  return [...new Set(types)];
}

export function checkServerExtension(value: unknown): string {
  if (typeof value !== 'string') throw invalidParameter('serverExtension must be a string');
  if (utf8Length(value) > Limits.MAX_SERVER_EXTENSION_BYTES) {
    throw invalidParameter(`serverExtension is limited to ${Limits.MAX_SERVER_EXTENSION_BYTES} bytes`, { bytes: utf8Length(value) });
  }
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidParameter(`${name} must be a boolean`);
  return value;
}

export function checkName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length > Limits.MAX_NAME_LENGTH) {
    throw invalidParameter(`${name} must be a string of at most ${Limits.MAX_NAME_LENGTH} characters`);
  }
  return value;
}
