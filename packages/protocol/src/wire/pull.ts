/**
 * `sync:pull`: the documents of one collection changed after a checkpoint, in change-log order.
 * A page holds at most `batchSize` documents and stays under `MAX_FRAME_BYTES`; `hasMore` says
 * whether the log goes on, so a client never mistakes a byte-capped page for the end.
 */
import * as v from 'valibot';
import { checkpointSchema, collectionSchema } from '../documents/collections.js';
import { conversationDocSchema } from '../documents/conversation.js';
import { conversationGroupDocSchema } from '../documents/group.js';
import { Limits } from '../limits.js';
import { answerSchema } from './answer.js';

/** Server → client pages stay under this many bytes (socket.io's default frame limit is 1 MB). */
export const MAX_FRAME_BYTES = 512 * 1024;

export const pullRequestSchema = v.object({
  collection: collectionSchema,
  checkpoint: v.nullable(checkpointSchema),
  batchSize: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.MAX_PULL_BATCH)),
});
export type PullRequest = v.InferOutput<typeof pullRequestSchema>;

export const pullAnswerSchema = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    collection: v.literal('conversations'),
    documents: v.array(conversationDocSchema),
    checkpoint: checkpointSchema,
    hasMore: v.boolean(),
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
export type PullResponse = Omit<Extract<PullAnswer, { ok: true }>, 'ok'>;
