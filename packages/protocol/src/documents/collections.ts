/** The replicated collections and their checkpoint. */
import * as v from 'valibot';
import { countSchema } from './fields.js';

export const Collection = {
  CONVERSATIONS: 'conversations',
  CONVERSATION_GROUPS: 'conversationGroups',
} as const;
export type Collection = (typeof Collection)[keyof typeof Collection];
export const collectionSchema = v.picklist([Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS]);

/**
 * A replication checkpoint: the highest change-log position of one collection of one account that
 * a device has seen. An object, because RxDB merges checkpoints with `Object.assign`.
 */
export const checkpointSchema = v.object({ seq: countSchema });
export type Checkpoint = v.InferOutput<typeof checkpointSchema>;
