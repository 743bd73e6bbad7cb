import { describe, expect, it } from 'vitest';
import { ConvSyncError, ConversationType, ErrorCode, conversationId, conversationIdUtil, parseConversationId } from '../src/index.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ConvSyncError ? error.code : -1;
  }
  return undefined;
}

describe('conversation ids', () => {
  it('round-trips <self>|<type>|<target>', () => {
    const id = conversationId('alice', ConversationType.TEAM, 'team-1');
    expect(id).toBe('alice|2|team-1');
    expect(parseConversationId(id)).toEqual({ selfId: 'alice', type: 2, targetId: 'team-1' });
  });

  it('binds the util to its account as the seed does', () => {
    const util = conversationIdUtil('alice');
    expect(util.p2pConversationId('bob')).toBe('alice|1|bob');
    expect(util.superTeamConversationId('s1')).toBe('alice|3|s1');
    expect(util.parseConversationType('alice|3|s1')).toBe(ConversationType.SUPER_TEAM);
    expect(util.parseConversationTargetId('alice|1|bob')).toBe('bob');
  });

  it.each(['', 'alice', 'alice|1', 'alice|4|bob', 'alice|0|bob', 'alice|1|', '|1|bob', 'a|1|b|c', 'alice|01|bob', 'al ice|1|bob'])(
    'refuses the malformed id %j with 191004',
    (id) => {
      expect(codeOf(() => parseConversationId(id))).toBe(ErrorCode.INVALID_PARAMETER);
    },
  );

  it('refuses an unknown type and an oversized account with 191004', () => {
    expect(codeOf(() => conversationId('alice', 9 as ConversationType, 'bob'))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(codeOf(() => conversationId('a'.repeat(129), ConversationType.P2P, 'bob'))).toBe(ErrorCode.INVALID_PARAMETER);
  });
});
