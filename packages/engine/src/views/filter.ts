/**
 * Filters (unread counts) and options (lists): validated at the edge, normalised so that two
 * filters compare by value (`filterKey`), and matched against a document.
 */
import { Limits, isConversationType, isValidId, invalidParameter, type ConversationType } from '@convsync/protocol';
import type { ConversationFilter } from '../services/types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses keys the seed's type does not have (a typo would otherwise filter nothing). */
function checkKeys(input: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(input)) {
    if (input[key] !== undefined && !allowed.includes(key)) throw invalidParameter(`unknown ${what} field: ${key.slice(0, 50)}`);
  }
}

function typesOf(value: unknown, what: string): ConversationType[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 10 || !value.every(isConversationType)) {
    throw invalidParameter(`${what}.conversationTypes must be an array of conversation types`);
  }
  return value;
}

function boolOf(value: unknown, name: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalidParameter(`${name} must be a boolean`);
}

/** A filter in canonical form: sorted unique types, explicit flags. */
export interface NormalFilter {
  readonly conversationTypes: readonly ConversationType[] | null;
  readonly conversationGroupId: string | null;
  readonly ignoreMuted: boolean;
}

export interface NormalOption {
  readonly conversationTypes: readonly ConversationType[] | null;
  readonly onlyUnread: boolean;
  readonly conversationGroupIds: readonly string[] | null;
}

function sortedTypes(types: readonly ConversationType[] | undefined): ConversationType[] | null {
  if (types === undefined || types.length === 0) return null;
  return [...new Set(types)].sort((a, b) => a - b);
}

/** Validates a filter; an empty (no criterion) or malformed filter is refused with 191004. */
export function parseFilter(input: unknown): NormalFilter {
  if (!isRecord(input)) throw invalidParameter('filter must be an object');
  checkKeys(input, ['conversationTypes', 'conversationGroupId', 'ignoreMuted'], 'filter');
  const groupId = input['conversationGroupId'];
  if (groupId !== undefined && !isValidId(groupId)) throw invalidParameter('filter.conversationGroupId is malformed');
  const normal: NormalFilter = {
    conversationTypes: sortedTypes(typesOf(input['conversationTypes'], 'filter')),
    conversationGroupId: groupId ?? null,
    ignoreMuted: boolOf(input['ignoreMuted'], 'filter.ignoreMuted') === true,
  };
  if (normal.conversationTypes === null && normal.conversationGroupId === null && !normal.ignoreMuted) {
    throw invalidParameter('empty filter: give conversationTypes, conversationGroupId or ignoreMuted');
  }
  return normal;
}

export function parseOption(input: unknown): NormalOption {
  const option = input ?? {};
  if (!isRecord(option)) throw invalidParameter('option must be an object');
  checkKeys(option, ['conversationTypes', 'onlyUnread', 'conversationGroupIds'], 'option');
  const groups = option['conversationGroupIds'];
  if (groups !== undefined && (!Array.isArray(groups) || groups.length > Limits.MAX_GROUPS || !groups.every(isValidId))) {
    throw invalidParameter('option.conversationGroupIds must be an array of group ids');
  }
  return {
    conversationTypes: sortedTypes(typesOf(option['conversationTypes'], 'option')),
    onlyUnread: boolOf(option['onlyUnread'], 'option.onlyUnread') === true,
    conversationGroupIds: groups === undefined || groups.length === 0 ? null : [...new Set(groups)].sort(),
  };
}

export function filterKey(filter: NormalFilter): string {
  return JSON.stringify([filter.conversationTypes, filter.conversationGroupId, filter.ignoreMuted]);
}

/** The public form of a normal filter (what `onUnreadCountChangedByFilter` hands back). */
export function publicFilter(filter: NormalFilter): ConversationFilter {
  const out: ConversationFilter = {};
  if (filter.conversationTypes !== null) out.conversationTypes = [...filter.conversationTypes];
  if (filter.conversationGroupId !== null) out.conversationGroupId = filter.conversationGroupId;
  if (filter.ignoreMuted) out.ignoreMuted = true;
  return out;
}

/** The facts of a conversation that filters look at. */
export interface FilterFacts {
  readonly type: ConversationType;
  readonly mute: boolean;
  readonly groupIds: readonly string[];
  readonly unreadCount: number;
}

export function matchesFilter(filter: NormalFilter, facts: FilterFacts): boolean {
  if (filter.conversationTypes !== null && !filter.conversationTypes.includes(facts.type)) return false;
  if (filter.conversationGroupId !== null && !facts.groupIds.includes(filter.conversationGroupId)) return false;
  if (filter.ignoreMuted && facts.mute) return false;
  return true;
}

export function matchesOption(option: NormalOption, facts: FilterFacts): boolean {
  if (option.conversationTypes !== null && !option.conversationTypes.includes(facts.type)) return false;
  if (option.onlyUnread && facts.unreadCount === 0) return false;
  if (option.conversationGroupIds !== null && !option.conversationGroupIds.some((g) => facts.groupIds.includes(g))) return false;
  return true;
}
