/**
 * A fast path for validating the bulk of inbound data: pull pages and stream events.
 *
 * Why: a fresh device validates every document it pulls, and valibot's generic object pipeline
 * (copying each object, collecting issues) costs 25–45 ms per 600-document page — a large share of
 * a fresh sync once the storage writes each document only once. These checks encode the same rules
 * as the protocol's `conversationDocSchema` / `conversationGroupDocSchema` (and the envelopes of
 * `pullAnswerSchema` / `streamEventSchema`) by hand, using the protocol's own predicates, and
 * return true/false without copying.
 *
 * The contract: they are never more permissive than valibot. Where they say true, valibot accepts
 * the value and its output equals the input (hence exact key sets: valibot's `object` drops unknown
 * keys, so an object with extra keys is left to valibot). Where they say false, the caller falls
 * back to valibot, which either accepts (a shape this check does not know) or produces the error.
 * `test/fast-validate.test.ts` checks this on real server documents and thousands of mutations.
 */
import {
  Limits,
  isConversationType,
  isStamp,
  isValidId,
  tryParseConversationId,
  utf8Length,
} from '@convsync/protocol';

type Rec = Record<string, unknown>;

function isRecord(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly these keys, no more (valibot would strip extras, so the input would not equal its output). */
function hasExactKeys(value: Rec, count: number): boolean {
  let n = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return false;
    n++;
  }
  return n === count;
}

const MAX_TIME = 8.64e15;

function isTime(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TIME;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER;
}

function isString(value: unknown, maxLength: number): boolean {
  return typeof value === 'string' && value.length <= maxLength;
}

function isConversationIdValue(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 2 * Limits.MAX_ID_LENGTH + 3 && tryParseConversationId(value) !== null;
}

function isServerExtension(value: unknown): boolean {
  return typeof value === 'string' && utf8Length(value) <= Limits.MAX_SERVER_EXTENSION_BYTES;
}

function isBoolean(value: unknown): boolean {
  return value === true || value === false;
}

/** `validId`: a conversation id already checked (the document's own), so an equal one is not parsed again. */
function isMessageRefer(value: unknown, validId: string): boolean {
  return isRecord(value) && hasExactKeys(value, 7) &&
    isValidId(value['senderId']) &&
    isValidId(value['receiverId']) &&
    isValidId(value['messageClientId']) &&
    isValidId(value['messageServerId']) &&
    isConversationType(value['conversationType']) &&
    (value['conversationId'] === validId || isConversationIdValue(value['conversationId'])) &&
    isTime(value['createTime']);
}

function isLastMessage(value: unknown, validId: string): boolean {
  if (value === null) return true;
  if (!isRecord(value) || !hasExactKeys(value, 5)) return false;
  const state = value['lastMessageState'];
  const type = value['messageType'];
  return isMessageRefer(value['messageRefer'], validId) &&
    (state === 0 || state === 1) &&
    (type === 0 || type === 100) &&
    isString(value['text'], Limits.MAX_PREVIEW_LENGTH) &&
    isString(value['senderName'], Limits.MAX_NAME_LENGTH);
}

function isGroupRegisters(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > Limits.MAX_GROUPS * 2) return false;
  for (const register of value as unknown[]) {
    if (!isRecord(register) || !hasExactKeys(register, 3)) return false;
    if (!isValidId(register['groupId']) || !isBoolean(register['member']) || !isStamp(register['stamp'])) return false;
  }
  return true;
}

function isIdList(value: unknown, max: number): boolean {
  if (!Array.isArray(value) || value.length > max) return false;
  for (const id of value as unknown[]) if (!isValidId(id)) return false;
  return true;
}

function isConversationClock(value: unknown): boolean {
  return isRecord(value) && hasExactKeys(value, 5) &&
    isStamp(value['created']) && isStamp(value['stickTop']) && isStamp(value['mute']) &&
    isStamp(value['serverExtension']) && isStamp(value['deleted']);
}

/** True only if valibot's `conversationDocSchema` accepts `value` and outputs an equal object. */
export function isConversationDocFast(value: unknown): boolean {
  return isRecord(value) && hasExactKeys(value, 22) &&
    isConversationIdValue(value['conversationId']) &&
    isConversationType(value['type']) &&
    isValidId(value['targetId']) &&
    isBoolean(value['stickTop']) &&
    isBoolean(value['mute']) &&
    isServerExtension(value['serverExtension']) &&
    isGroupRegisters(value['groups']) &&
    isIdList(value['groupIds'], Limits.MAX_GROUPS) &&
    isTime(value['lastReadTime']) &&
    isTime(value['deletedBefore']) &&
    isTime(value['clearedBefore']) &&
    isCount(value['serverRev']) &&
    isString(value['name'], Limits.MAX_NAME_LENGTH) &&
    isString(value['avatar'], Limits.MAX_AVATAR_LENGTH) &&
    isLastMessage(value['lastMessage'], value['conversationId'] as string) &&
    isCount(value['unreadCount']) &&
    isTime(value['sortOrder']) &&
    isTime(value['createTime']) &&
    isTime(value['updateTime']) &&
    isCount(value['rank']) &&
    isConversationClock(value['clock']) &&
    isBoolean(value['_deleted']);
}

/** True only if valibot's `conversationGroupDocSchema` accepts `value` and outputs an equal object. */
export function isConversationGroupDocFast(value: unknown): boolean {
  if (!isRecord(value) || !hasExactKeys(value, 7)) return false;
  const clock = value['clock'];
  return isValidId(value['groupId']) &&
    isString(value['name'], Limits.MAX_NAME_LENGTH) &&
    isServerExtension(value['serverExtension']) &&
    isTime(value['createTime']) &&
    isTime(value['updateTime']) &&
    isRecord(clock) && hasExactKeys(clock, 3) &&
    isStamp(clock['name']) && isStamp(clock['serverExtension']) && isStamp(clock['deleted']) &&
    isBoolean(value['_deleted']);
}

function areDocsFast(collection: unknown, documents: unknown): boolean {
  if (!Array.isArray(documents)) return false;
  const check = collection === 'conversations' ? isConversationDocFast
    : collection === 'conversationGroups' ? isConversationGroupDocFast
    : undefined;
  if (check === undefined) return false;
  for (const doc of documents as unknown[]) if (!check(doc)) return false;
  return true;
}

function isCheckpoint(value: unknown): boolean {
  return isRecord(value) && hasExactKeys(value, 1) && isCount(value['seq']);
}

/** True only if `pullAnswerSchema` accepts `value` as a success and outputs an equal object. */
export function isPullSuccessFast(value: unknown): boolean {
  return isRecord(value) && hasExactKeys(value, 5) && value['ok'] === true &&
    isCheckpoint(value['checkpoint']) && isBoolean(value['hasMore']) &&
    areDocsFast(value['collection'], value['documents']);
}

/** True only if `streamEventSchema` accepts `value` and outputs an equal object. */
export function isStreamEventFast(value: unknown): boolean {
  return isRecord(value) && hasExactKeys(value, 4) &&
    isCheckpoint(value['checkpoint']) && isCount(value['prevSeq']) &&
    areDocsFast(value['collection'], value['documents']);
}
