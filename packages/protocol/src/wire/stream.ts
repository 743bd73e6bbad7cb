/**
 * `sync:stream` (server → client): the documents of one commit, sent to every socket of the
 * account. `prevSeq` is the collection's log position before the commit: a client whose own
 * position differs has missed something (or is ahead) and pulls from its checkpoint instead of
 * applying the event, so a lost or reordered stream event can never move a checkpoint past a change.
 */
import * as v from 'valibot';
import { checkpointSchema } from '../documents/collections.js';
import { countSchema } from '../documents/fields.js';
import { conversationDocSchema } from '../documents/conversation.js';
import { conversationGroupDocSchema } from '../documents/group.js';

export const streamEventSchema = v.variant('collection', [
  v.object({
    collection: v.literal('conversations'),
    documents: v.array(conversationDocSchema),
    checkpoint: checkpointSchema,
    prevSeq: countSchema,
  }),
  v.object({
    collection: v.literal('conversationGroups'),
    documents: v.array(conversationGroupDocSchema),
    checkpoint: checkpointSchema,
    prevSeq: countSchema,
  }),
]);
export type StreamEvent = v.InferOutput<typeof streamEventSchema>;
