/** The document schema of each replicated collection. */
import { Collection } from '../documents/collections.js';
import { conversationDocSchema, type ConversationDoc } from '../documents/conversation.js';
import { conversationGroupDocSchema, type ConversationGroupDoc } from '../documents/group.js';

export interface CollectionDocs {
  [Collection.CONVERSATIONS]: ConversationDoc;
  [Collection.CONVERSATION_GROUPS]: ConversationGroupDoc;
}
export type AnyDoc = CollectionDocs[Collection];

export const documentSchemas = {
  [Collection.CONVERSATIONS]: conversationDocSchema,
  [Collection.CONVERSATION_GROUPS]: conversationGroupDocSchema,
} as const;

/** The primary key of each collection's documents. */
export const primaryKeys = {
  [Collection.CONVERSATIONS]: 'conversationId',
  [Collection.CONVERSATION_GROUPS]: 'groupId',
} as const;

export function documentId<C extends Collection>(collection: C, doc: CollectionDocs[C]): string {
  return collection === Collection.CONVERSATIONS
    ? (doc as ConversationDoc).conversationId
    : (doc as ConversationGroupDoc).groupId;
}
