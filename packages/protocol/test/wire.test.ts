import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  ConvSyncError,
  ErrorCode,
  emptyConversation,
  parseOrThrow,
  pullRequestSchema,
  pushRequestSchema,
  sendMessageRequestSchema,
} from '../src/index.js';

describe('wire schemas', () => {
  it('accept a well-formed push and strip unknown fields such as RxDB meta', () => {
    const doc = { ...emptyConversation({ conversationId: 'alice|1|bob', now: 1 }), _meta: { lwt: 1 }, _rev: '1-a' };
    const parsed = parseOrThrow(pushRequestSchema, { collection: 'conversations', rows: [{ assumedMasterState: null, newDocumentState: doc }] }, 'push');
    expect(parsed.rows[0]?.newDocumentState).not.toHaveProperty('_meta');
  });

  it('refuse an oversized server extension with 191004', () => {
    const doc = { ...emptyConversation({ conversationId: 'alice|1|bob', now: 1 }), serverExtension: 'é'.repeat(513) };
    expect(() => parseOrThrow(pushRequestSchema, { collection: 'conversations', rows: [{ newDocumentState: doc }] }, 'push'))
      .toThrowError(expect.objectContaining({ code: ErrorCode.INVALID_PARAMETER }) as Error);
  });

  it.each([
    null,
    {},
    { collection: 'messages', checkpoint: null, batchSize: 10 },
    { collection: 'conversations', checkpoint: { seq: -1 }, batchSize: 10 },
    { collection: 'conversations', checkpoint: null, batchSize: 0 },
    { collection: 'conversations', checkpoint: null, batchSize: 1e9 },
    { collection: 'conversations', checkpoint: '5', batchSize: 10 },
  ])('refuse the malformed pull %j', (request) => {
    expect(v.safeParse(pullRequestSchema, request).success).toBe(false);
  });

  it('name the offending field in the error', () => {
    try {
      parseOrThrow(sendMessageRequestSchema, { clientMessageId: 'c1', conversationId: 'nope', text: 'hi' }, 'message');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConvSyncError);
      expect((error as ConvSyncError).desc).toContain('conversationId');
    }
  });
});

describe('ConvSyncError', () => {
  it('travels on the wire and back with its code', () => {
    const error = new ConvSyncError(ErrorCode.TOO_MANY_PINNED, 'at most 100 pinned', { detail: { limit: 100 } });
    const back = ConvSyncError.fromWire(error.toWire());
    expect(back.code).toBe(110303);
    expect(back.detail).toEqual({ limit: 100 });
  });

  it('normalises an unknown code and a foreign error', () => {
    expect(ConvSyncError.fromWire({ code: 12345, desc: 'x' }).code).toBe(ErrorCode.INTERNAL);
    expect(ConvSyncError.from(new RangeError('boom')).code).toBe(ErrorCode.INTERNAL);
  });
});
