/**
 * Conversation ids (docs/API.md): `<selfAccount>|<type>|<targetId>`, e.g. `alice|1|bob`. An id names a
 * conversation as one account sees it; the same P2P chat is `alice|1|bob` for alice and
 * `bob|1|alice` for bob.
 */
import { invalidParameter } from './errors.js';
import { Limits } from './limits.js';

export const ConversationType = {
  P2P: 1,
  TEAM: 2,
  SUPER_TEAM: 3,
} as const;
export type ConversationType = (typeof ConversationType)[keyof typeof ConversationType];

const TYPES: ReadonlySet<number> = new Set(Object.values(ConversationType));

export function isConversationType(value: unknown): value is ConversationType {
  return typeof value === 'number' && TYPES.has(value);
}

/** Account, team and group ids: printable, no separator, bounded. */
const ID_PATTERN = /^[A-Za-z0-9_.@:+=-]+$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= Limits.MAX_ID_LENGTH &&
    ID_PATTERN.test(value);
}

export function assertValidId(value: unknown, what: string): asserts value is string {
  if (!isValidId(value)) {
    throw invalidParameter(`${what} must be 1–${Limits.MAX_ID_LENGTH} characters of [A-Za-z0-9_.@:+=-]`, {
      [what]: typeof value === 'string' ? value.slice(0, 200) : typeof value,
    });
  }
}

export interface ParsedConversationId {
  selfId: string;
  type: ConversationType;
  targetId: string;
}

/** Builds an id; throws 191004 for a bad account, type or target. */
export function conversationId(selfAccount: string, type: ConversationType, targetId: string): string {
  assertValidId(selfAccount, 'selfAccount');
  if (!isConversationType(type)) throw invalidParameter('unknown conversation type', { type });
  assertValidId(targetId, 'targetId');
  return `${selfAccount}|${type}|${targetId}`;
}

/** Splits an id; throws 191004 when it is malformed. */
export function parseConversationId(id: string): ParsedConversationId {
  const parsed = tryParseConversationId(id);
  if (parsed === null) {
    throw invalidParameter('malformed conversation id (expected <self>|<type>|<target>)', {
      conversationId: typeof id === 'string' ? id.slice(0, 300) : typeof id,
    });
  }
  return parsed;
}

export function tryParseConversationId(id: unknown): ParsedConversationId | null {
  if (typeof id !== 'string') return null;
  const parts = id.split('|');
  if (parts.length !== 3) return null;
  const [selfId, typeText, targetId] = parts as [string, string, string];
  const type = Number(typeText);
  if (!/^[1-9]$/.test(typeText) || !isConversationType(type)) return null;
  if (!isValidId(selfId) || !isValidId(targetId)) return null;
  return { selfId, type, targetId };
}

/** The seed's `V2NIMConversationIdUtil`, bound to one account. */
export interface ConversationIdUtil {
  p2pConversationId(accountId: string): string;
  teamConversationId(teamId: string): string;
  superTeamConversationId(superTeamId: string): string;
  parseConversationType(conversationId: string): ConversationType;
  parseConversationTargetId(conversationId: string): string;
}

export function conversationIdUtil(selfAccount: string): ConversationIdUtil {
  assertValidId(selfAccount, 'selfAccount');
  return {
    p2pConversationId: (accountId) => conversationId(selfAccount, ConversationType.P2P, accountId),
    teamConversationId: (teamId) => conversationId(selfAccount, ConversationType.TEAM, teamId),
    superTeamConversationId: (id) => conversationId(selfAccount, ConversationType.SUPER_TEAM, id),
    parseConversationType: (id) => parseConversationId(id).type,
    parseConversationTargetId: (id) => parseConversationId(id).targetId,
  };
}
