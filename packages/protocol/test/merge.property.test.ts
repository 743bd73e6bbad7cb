import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatStamp,
  lastMessageTime,
  mergeConversation,
  mergeConversationGroup,
  normalizeConversation,
  type ConversationDoc,
} from '../src/index.js';
import { conversationArb, groupArb, lastMessageArb } from './arbitraries.js';

const runs = { numRuns: 2000 };

describe('mergeConversation is a join', () => {
  it('is commutative', () => {
    fc.assert(fc.property(conversationArb, conversationArb, (a, b) => {
      expect(mergeConversation(a, b)).toEqual(mergeConversation(b, a));
    }), runs);
  });

  it('is associative', () => {
    fc.assert(fc.property(conversationArb, conversationArb, conversationArb, (a, b, c) => {
      expect(mergeConversation(mergeConversation(a, b), c)).toEqual(mergeConversation(a, mergeConversation(b, c)));
    }), runs);
  });

  it('is idempotent', () => {
    fc.assert(fc.property(conversationArb, (a) => {
      expect(mergeConversation(a, a)).toEqual(a);
    }), runs);
  });

  it('converges whatever the order of delivery', () => {
    fc.assert(fc.property(fc.array(conversationArb, { minLength: 1, maxLength: 6 }), fc.nat(), (docs, seed) => {
      const shuffled = [...docs].sort((x, y) => ((docs.indexOf(x) * 7919 + seed) % 13) - ((docs.indexOf(y) * 7919 + seed) % 13));
      const fold = (list: ConversationDoc[]) => list.reduce((acc, doc) => mergeConversation(acc, doc));
      expect(fold(shuffled)).toEqual(fold(docs));
    }), runs);
  });
});

describe('mergeConversation keeps the rules of docs/ARCHITECTURE.md "Merge rules"', () => {
  it('never moves the read time back', () => {
    fc.assert(fc.property(conversationArb, conversationArb, (a, b) => {
      const merged = mergeConversation(a, b);
      expect(merged.lastReadTime).toBeGreaterThanOrEqual(Math.max(a.lastReadTime, b.lastReadTime));
    }), runs);
  });

  it('lets the later stamp win a register whatever the arrival order', () => {
    fc.assert(fc.property(conversationArb, fc.boolean(), fc.boolean(), (base, first, second) => {
      const early = formatStamp({ wallMs: 100, counter: 0, deviceId: 'devB' });
      const late = formatStamp({ wallMs: 100, counter: 1, deviceId: 'devA' });
      const clean: ConversationDoc = normalizeConversation({ ...base, clock: { ...base.clock, deleted: '' } });
      const a = normalizeConversation({ ...clean, stickTop: first, clock: { ...clean.clock, stickTop: early } });
      const b = normalizeConversation({ ...clean, stickTop: second, clock: { ...clean.clock, stickTop: late } });
      expect(mergeConversation(a, b).stickTop).toBe(second);
      expect(mergeConversation(b, a).stickTop).toBe(second);
    }), runs);
  });

  it('lets a tombstone beat edits stamped before it', () => {
    fc.assert(fc.property(conversationArb, (base) => {
      const edit = formatStamp({ wallMs: 50, counter: 0, deviceId: 'devA' });
      const tomb = formatStamp({ wallMs: 60, counter: 0, deviceId: 'devB' });
      const known = lastMessageTime(base.lastMessage);
      const edited = normalizeConversation({
        ...base,
        groups: [],
        stickTop: true,
        serverExtension: 'pinned',
        clock: { created: edit, stickTop: edit, mute: edit, serverExtension: edit, deleted: '' },
      });
      const deleted = normalizeConversation({
        ...base,
        groups: [],
        deletedBefore: Math.max(base.deletedBefore, known),
        clock: { created: '', stickTop: '', mute: '', serverExtension: '', deleted: tomb },
      });
      const merged = mergeConversation(edited, deleted);
      expect(merged._deleted).toBe(true);
      expect(merged.stickTop).toBe(false);
      expect(merged.serverExtension).toBe('');
      expect(merged.unreadCount).toBe(0);
    }), runs);
  });

  it('lets a newer message revive a deleted conversation, with only newer messages unread', () => {
    fc.assert(fc.property(conversationArb, lastMessageArb, (base, message) => {
      fc.pre(message !== null);
      const tomb = formatStamp({ wallMs: 900, counter: 0, deviceId: 'devB' });
      const deleted = normalizeConversation({
        ...base,
        deletedBefore: Math.max(lastMessageTime(base.lastMessage), base.deletedBefore),
        clock: { ...base.clock, deleted: tomb },
      });
      const time = message.messageRefer.createTime;
      const server = normalizeConversation({ ...deleted, serverRev: deleted.serverRev + 1, lastMessage: message, unreadCount: 1 });
      const merged = mergeConversation(deleted, server);
      expect(merged._deleted).toBe(time <= deleted.deletedBefore);
      expect(merged.unreadCount).toBe(time > merged.lastReadTime ? 1 : 0);
    }), runs);
  });

  it('takes the server-derived block from the newer server revision', () => {
    fc.assert(fc.property(conversationArb, conversationArb, (a, b) => {
      fc.pre(a.serverRev !== b.serverRev);
      const newer = a.serverRev > b.serverRev ? a : b;
      const merged = mergeConversation(a, b);
      expect(merged.lastMessage).toEqual(newer.lastMessage);
      expect(merged.sortOrder).toBe(newer.sortOrder);
      expect(merged.name).toBe(newer.name);
    }), runs);
  });

  it('shows no unread once the read time reaches the last message', () => {
    fc.assert(fc.property(conversationArb, conversationArb, (a, b) => {
      const merged = mergeConversation(a, b);
      if (merged.lastReadTime >= lastMessageTime(merged.lastMessage)) expect(merged.unreadCount).toBe(0);
    }), runs);
  });
});

describe('mergeConversationGroup is a join', () => {
  it('is commutative, associative and idempotent', () => {
    fc.assert(fc.property(groupArb, groupArb, groupArb, (a, b, c) => {
      expect(mergeConversationGroup(a, b)).toEqual(mergeConversationGroup(b, a));
      expect(mergeConversationGroup(mergeConversationGroup(a, b), c)).toEqual(mergeConversationGroup(a, mergeConversationGroup(b, c)));
      expect(mergeConversationGroup(a, a)).toEqual(a);
    }), runs);
  });

  it('keeps a deleted group deleted', () => {
    fc.assert(fc.property(groupArb, groupArb, (a, b) => {
      fc.pre(a._deleted);
      expect(mergeConversationGroup(a, b)._deleted).toBe(true);
    }), runs);
  });
});
