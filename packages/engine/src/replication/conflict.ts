/**
 * The conflict handlers of the replicated collections (RxDB 17's `{isEqual, resolve}`): equality
 * ignores RxDB's bookkeeping, and a conflict resolves with the protocol's merge — the same pure
 * function the server runs in its push — so the device converges on the document the server stored.
 */
import {
  jsonEqual,
  mergeConversation,
  mergeConversationGroup,
  type ConversationDoc,
  type ConversationGroupDoc,
} from '@convsync/protocol';
import type { RxConflictHandler } from 'rxdb';

/** A document without RxDB's meta fields (`_meta`, `_rev`, `_attachments`). */
export function withoutMeta<T extends object>(doc: T): T {
  const record = doc as T & { _meta?: unknown; _rev?: unknown; _attachments?: unknown };
  if (record._meta === undefined && record._rev === undefined && record._attachments === undefined) return doc;
  const { _meta: _m, _rev: _r, _attachments: _a, ...rest } = record;
  return rest as T;
}

function equalWithoutMeta(a: object, b: object): boolean {
  return jsonEqual(withoutMeta(a), withoutMeta(b));
}

export const conversationConflictHandler: RxConflictHandler<ConversationDoc> = {
  isEqual: (a, b) => equalWithoutMeta(a, b),
  resolve: (input) =>
    Promise.resolve(mergeConversation(withoutMeta(input.realMasterState), withoutMeta(input.newDocumentState))),
};

export const groupConflictHandler: RxConflictHandler<ConversationGroupDoc> = {
  isEqual: (a, b) => equalWithoutMeta(a, b),
  resolve: (input) =>
    Promise.resolve(mergeConversationGroup(withoutMeta(input.realMasterState), withoutMeta(input.newDocumentState))),
};
