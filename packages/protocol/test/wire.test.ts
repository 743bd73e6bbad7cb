import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  ConvSyncError,
  ErrorCode,
  emptyConversation,
  packDocuments,
  parseOrThrow,
  pullAnswerSchema,
  pullRequestSchema,
  pushRequestSchema,
  sendMessageRequestSchema,
  unpackPullAnswer,
} from '../src/index.js';

describe('wire schemas', () => {
  it('accept a well-formed push and strip unknown fields such as RxDB meta', () => {
    const doc = { ...emptyConversation({ conversationId: 'alice|1|bob', now: 1 }), _meta: { lwt: 1 }, _rev: '1-a' };
    const parsed = parseOrThrow(pushRequestSchema, { collection: 'conversations', rows: [{ newDocumentState: doc }] }, 'push');
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

describe('json pull pages', () => {
  const docs = [emptyConversation({ conversationId: 'alice|1|bob', now: 1 }), { ...emptyConversation({ conversationId: 'alice|1|zoe', now: 2 }), name: 'Zoé ✓' }];
  const texts = docs.map((doc) => JSON.stringify(doc));
  const page = { ok: true, collection: 'conversations', checkpoint: { seq: 2 }, hasMore: false };

  const utf8 = (text: string): number => new TextEncoder().encode(text).length;
  const packed = (list: string[]): string => new TextDecoder().decode(packDocuments(list, list.reduce((n, text) => n + utf8(text), 0)));

  it('write stored JSON texts into one array, in UTF-8 bytes', () => {
    expect(JSON.parse(packed(texts))).toEqual(docs);
    expect(packed(texts)).toBe(`[${texts.join(',')}]`);
    expect(packed([texts[0] as string])).toBe(`[${texts[0] as string}]`);
    expect(packed([])).toBe('[]');
  });

  it('refuse to pack texts whose size is not the one given', () => {
    const size = texts.reduce((n, text) => n + utf8(text), 0);
    // Characters are not bytes: 'é' and '✓' take more than one.
    expect(size).toBeGreaterThan(texts.reduce((n, text) => n + text.length, 0));
    expect(() => packDocuments(texts, size - 1)).toThrow(RangeError);
    expect(() => packDocuments(texts, size + 1)).toThrow(RangeError);
  });

  it.each([
    ['a string', (text: string): unknown => text],
    ['UTF-8 bytes (a Node Buffer)', (text: string): unknown => Buffer.from(text)],
    ['an ArrayBuffer (socket.io in a browser)', (text: string): unknown => new TextEncoder().encode(text).buffer],
  ])('unpack a page sent as %s into the objects form the answer schema validates', (_, encode) => {
    const unpacked = unpackPullAnswer({ ...page, documentsJson: encode(packed(texts)) });
    expect(unpacked).toEqual({ ...page, documents: docs });
    expect(v.safeParse(pullAnswerSchema, unpacked).success).toBe(true);
  });

  it('leave the objects form and error answers as they are', () => {
    const objects = { ...page, documents: docs };
    expect(unpackPullAnswer(objects)).toBe(objects);
    const refused = { ok: false, error: { code: 191004, desc: 'no' } };
    expect(unpackPullAnswer(refused)).toBe(refused);
    expect(unpackPullAnswer(null)).toBeNull();
    const both = { ...objects, documentsJson: '[]' };
    expect(unpackPullAnswer(both)).toBe(both);
  });

  it('throw on a page that is not UTF-8 JSON', () => {
    expect(() => unpackPullAnswer({ ...page, documentsJson: '[{"conversationId":' })).toThrow(SyntaxError);
    expect(() => unpackPullAnswer({ ...page, documentsJson: Uint8Array.of(0x5b, 0xff, 0x5d) })).toThrow(TypeError);
  });

  it('accept the json format in a pull request and refuse an unknown one', () => {
    const request = { collection: 'conversations', checkpoint: null, batchSize: 10 };
    expect(parseOrThrow(pullRequestSchema, { ...request, format: 'json' }, 'pull').format).toBe('json');
    expect(parseOrThrow(pullRequestSchema, request, 'pull').format).toBeUndefined();
    expect(v.safeParse(pullRequestSchema, { ...request, format: 'binary' }).success).toBe(false);
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
