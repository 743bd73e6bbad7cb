/**
 * `sync:pull`: the documents of one collection changed after a checkpoint, in change-log order.
 * A page holds at most `batchSize` documents and stays under `MAX_FRAME_BYTES`; `hasMore` says
 * whether the log goes on, so a client never mistakes a byte-capped page for the end.
 *
 * Two encodings of a page, chosen by the request's `format`:
 * - `'objects'` (the default, and all an older server knows): `documents` is an array of objects;
 * - `'json'`: `documentsJson` is the page's documents as one JSON array, in UTF-8 bytes. The
 *   server stores every document as JSON text, so it writes the stored texts out as they are
 *   (`packDocuments`) instead of parsing each one only for the socket to serialise it again, and
 *   the client parses the page once. socket.io sends the bytes as a binary attachment, which
 *   neither side escapes into the frame's own JSON or unescapes from it; an in-process session,
 *   whose answers make a JSON round trip, carries the same text as a string. A server that
 *   predates `format` drops the unknown field and answers with objects, so a client accepts both.
 * Either way the client validates the documents with the same schemas (`pullAnswerSchema`, after
 * `unpackPullAnswer`).
 */
import * as v from 'valibot';
import { checkpointSchema, collectionSchema } from '../documents/collections.js';
import { conversationDocSchema } from '../documents/conversation.js';
import { conversationGroupDocSchema } from '../documents/group.js';
import { Limits } from '../limits.js';
import { answerSchema } from './answer.js';
import { PullOrder, unreadTotalsSchema, type UnreadTotals } from './first-page.js';

/**
 * Server → client pages stay under this many bytes of documents: room for a full batch of
 * `Limits.MAX_PULL_BATCH` typical conversations (≈900 bytes each), so a fresh device syncs in few
 * round trips, while one answer still holds neither side's event loop for long. It is not a
 * transport limit: socket.io's `maxHttpBufferSize` bounds what the server receives, and a pull page
 * travels the other way.
 */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

export const PullFormat = {
  OBJECTS: 'objects',
  JSON: 'json',
} as const;
export type PullFormat = (typeof PullFormat)[keyof typeof PullFormat];

export const pullRequestSchema = v.object({
  collection: collectionSchema,
  checkpoint: v.nullable(checkpointSchema),
  batchSize: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.MAX_PULL_BATCH)),
  /** How the answer carries the documents; absent means `'objects'`. */
  format: v.optional(v.picklist([PullFormat.OBJECTS, PullFormat.JSON])),
  /** `'rank'`: the first-sync page (`first-page.ts`); absent means `'seq'`. */
  order: v.optional(v.picklist([PullOrder.SEQ, PullOrder.RANK])),
});
export type PullRequest = v.InferOutput<typeof pullRequestSchema>;

export const pullAnswerSchema = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    collection: v.literal('conversations'),
    documents: v.array(conversationDocSchema),
    checkpoint: checkpointSchema,
    hasMore: v.boolean(),
    /** Only on a first-sync page (`order: 'rank'`). */
    unread: v.optional(unreadTotalsSchema),
  }),
  v.object({
    ok: v.literal(true),
    collection: v.literal('conversationGroups'),
    documents: v.array(conversationGroupDocSchema),
    checkpoint: checkpointSchema,
    hasMore: v.boolean(),
  }),
  answerSchema({}).options[1],
]);
export type PullAnswer = v.InferOutput<typeof pullAnswerSchema>;
/** A page with its documents as objects: what a `'json'` page is once unpacked. */
export type PullResponse = Omit<Extract<PullAnswer, { ok: true }>, 'ok'>;

/** A `format: 'json'` page as it travels. */
export interface PullJsonResponse {
  collection: PullResponse['collection'];
  /** A JSON array of the page's documents: its UTF-8 bytes, or the text itself. */
  documentsJson: string | Uint8Array | ArrayBuffer;
  checkpoint: PullResponse['checkpoint'];
  hasMore: boolean;
  unread?: UnreadTotals;
}

const COMMA = 0x2c;
const encoder = new TextEncoder();

/**
 * The `documentsJson` of a page whose documents are stored as these JSON texts, in order: written
 * straight into one buffer, with no joined string in between. `utf8Bytes` is the texts' total
 * UTF-8 size (the server has just measured it against the page budget); a wrong one throws.
 */
export function packDocuments(jsonTexts: readonly string[], utf8Bytes: number): Uint8Array {
  const bytes = new Uint8Array(utf8Bytes + Math.max(2, jsonTexts.length + 1));
  let at = 0;
  bytes[at++] = 0x5b;
  for (let i = 0; i < jsonTexts.length; i++) {
    const text = jsonTexts[i] as string;
    if (i > 0) bytes[at++] = COMMA;
    const { read, written } = encoder.encodeInto(text, bytes.subarray(at, bytes.length - 1));
    if (read !== text.length) throw new RangeError('packDocuments: the texts are larger than utf8Bytes');
    at += written;
  }
  bytes[at++] = 0x5d;
  if (at !== bytes.length) throw new RangeError('packDocuments: the texts are smaller than utf8Bytes');
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function jsonText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return utf8.decode(value);
  return undefined;
}

/**
 * A `'json'` page's answer with its documents parsed (the objects form, to validate with
 * `pullAnswerSchema`); any other answer as it is. Throws (a TypeError or SyntaxError) when
 * `documentsJson` is not UTF-8 JSON.
 */
export function unpackPullAnswer(answer: unknown): unknown {
  if (typeof answer !== 'object' || answer === null || !('documentsJson' in answer)) return answer;
  const { documentsJson, ...rest } = answer as Record<string, unknown>;
  const text = jsonText(documentsJson);
  if (text === undefined || 'documents' in rest) return answer;
  return { ...rest, documents: JSON.parse(text) as unknown };
}
