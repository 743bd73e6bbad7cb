/**
 * `sync:push`: rows of `{newDocumentState}`, the device's current state of each document it holds
 * unpushed edits of. The server merges each row into its master with the shared merge and answers,
 * as `conflicts`, the merged master of every row whose result differs from what the device sent —
 * so the device joins the server's document at once instead of waiting for the stream. The merge
 * is idempotent, so a row pushed twice (a retry) changes nothing the second time.
 */
import * as v from 'valibot';
import { conversationDocSchema } from '../documents/conversation.js';
import { conversationGroupDocSchema } from '../documents/group.js';
import { Limits } from '../limits.js';
import { answerSchema } from './answer.js';

function rowsOf<TDoc extends v.GenericSchema>(doc: TDoc) {
  return v.pipe(
    v.array(v.object({ newDocumentState: doc })),
    v.minLength(1),
    v.maxLength(Limits.MAX_PUSH_ROWS),
  );
}

export const pushRequestSchema = v.variant('collection', [
  v.object({ collection: v.literal('conversations'), rows: rowsOf(conversationDocSchema) }),
  v.object({ collection: v.literal('conversationGroups'), rows: rowsOf(conversationGroupDocSchema) }),
]);
export type PushRequest = v.InferOutput<typeof pushRequestSchema>;

export const pushAnswerSchema = v.variant('ok', [
  v.object({ ok: v.literal(true), collection: v.literal('conversations'), conflicts: v.array(conversationDocSchema) }),
  v.object({ ok: v.literal(true), collection: v.literal('conversationGroups'), conflicts: v.array(conversationGroupDocSchema) }),
  answerSchema({}).options[1],
]);
export type PushAnswer = v.InferOutput<typeof pushAnswerSchema>;
export type PushResponse = Omit<Extract<PushAnswer, { ok: true }>, 'ok'>;
