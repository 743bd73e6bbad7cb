import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { emptyConversation, pullAnswerSchema, pullRequestSchema, unreadOfCells, type UnreadCell } from '../src/index.js';

describe('first-sync page on the wire', () => {
  it('accepts order rank and seq on a pull, refuses any other order', () => {
    const base = { collection: 'conversations', checkpoint: null, batchSize: 50 };
    expect(v.safeParse(pullRequestSchema, { ...base, order: 'rank' }).success).toBe(true);
    expect(v.safeParse(pullRequestSchema, { ...base, order: 'seq' }).success).toBe(true);
    expect(v.safeParse(pullRequestSchema, base).success).toBe(true);
    expect(v.safeParse(pullRequestSchema, { ...base, order: 'newest' }).success).toBe(false);
  });

  it('validates the unread totals of a page and refuses malformed cells', () => {
    const page = {
      ok: true,
      collection: 'conversations',
      documents: [emptyConversation({ conversationId: 'alice|1|bob', now: 1 })],
      checkpoint: { seq: 9 },
      hasMore: true,
      unread: { total: 3, cells: [{ type: 1, muted: false, groupId: null, unread: 3 }] },
    };
    expect(v.safeParse(pullAnswerSchema, page).success).toBe(true);
    for (const cell of [{ type: 9, muted: false, groupId: null, unread: 1 }, { type: 1, muted: false, groupId: null, unread: -1 },
      { type: 1, muted: 'no', groupId: null, unread: 1 }]) {
      expect(v.safeParse(pullAnswerSchema, { ...page, unread: { total: 1, cells: [cell] } }).success).toBe(false);
    }
  });

  it('counts any unread filter from the cells as the engine\'s views count it', () => {
    const cells: UnreadCell[] = [
      { type: 1, muted: false, groupId: null, unread: 5 },
      { type: 1, muted: true, groupId: null, unread: 2 },
      { type: 2, muted: false, groupId: null, unread: 7 },
      { type: 1, muted: false, groupId: 'work', unread: 4 },
      { type: 2, muted: false, groupId: 'work', unread: 1 },
      { type: 1, muted: true, groupId: 'work', unread: 2 },
    ];
    expect(unreadOfCells(cells)).toBe(14);
    expect(unreadOfCells(cells, { ignoreMuted: true })).toBe(12);
    expect(unreadOfCells(cells, { conversationTypes: [2] })).toBe(7);
    expect(unreadOfCells(cells, { conversationGroupId: 'work' })).toBe(7);
    expect(unreadOfCells(cells, { conversationGroupId: 'work', ignoreMuted: true, conversationTypes: [1] })).toBe(4);
    expect(unreadOfCells(cells, { conversationGroupId: 'home' })).toBe(0);
  });
});
