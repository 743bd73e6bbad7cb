/**
 * Collects the documents one transaction writes and commits them to the change log: each owner's
 * log for each collection advances by the number of its documents, every document lands at its own
 * new position (a conversation's `serverRev` is that position), and after the commit one stream
 * event per (owner, collection) carries them, with the position the log had before.
 */
import { Collection, type CollectionDocs, type ConversationDoc, type StreamEvent } from '@convsync/protocol';
import type { StreamPublisher } from '../context.js';
import type { ListFacts, StoreTx } from '../store/store.js';

interface Pending<C extends Collection> {
  doc: CollectionDocs[C];
  target: string | null;
}

/** The lookup key of a conversation (`<type>|<targetId>`): profile changes find their documents by it. */
export function conversationTarget(doc: Pick<ConversationDoc, 'type' | 'targetId'>): string {
  return `${doc.type}|${doc.targetId}`;
}

/**
 * A conversation's share of the list order and the unread totals, written beside it in the same
 * transaction: the first-sync page and its totals are then always those of one log position.
 */
export function listFacts(doc: ConversationDoc): ListFacts {
  return {
    rank: doc._deleted ? null : doc.rank,
    unread: doc._deleted ? 0 : doc.unreadCount,
    type: doc.type,
    mute: doc.mute,
    groupIds: doc.groupIds,
  };
}

export class ChangeSet {
  readonly #pending = {
    [Collection.CONVERSATIONS]: new Map<string, Map<string, Pending<'conversations'>>>(),
    [Collection.CONVERSATION_GROUPS]: new Map<string, Map<string, Pending<'conversationGroups'>>>(),
  };

  /** Stages a conversation; a later write of the same id in this transaction replaces it. */
  putConversation(owner: string, doc: ConversationDoc): void {
    this.#byOwner(Collection.CONVERSATIONS, owner).set(doc.conversationId, { doc, target: conversationTarget(doc) });
  }

  putGroup(owner: string, doc: CollectionDocs['conversationGroups']): void {
    this.#byOwner(Collection.CONVERSATION_GROUPS, owner).set(doc.groupId, { doc, target: null });
  }

  /** The staged version of a document, if this transaction already wrote it. */
  stagedConversation(owner: string, id: string): ConversationDoc | undefined {
    return this.#pending.conversations.get(owner)?.get(id)?.doc;
  }

  get isEmpty(): boolean {
    return this.#pending.conversations.size === 0 && this.#pending.conversationGroups.size === 0;
  }

  /**
   * Writes everything staged, and arranges the stream events for after the commit. Returns the
   * documents as written (conversations carry their new `serverRev`), keyed by owner and id.
   */
  async commit(tx: StoreTx, publish: StreamPublisher): Promise<Map<string, ConversationDoc | CollectionDocs['conversationGroups']>> {
    const written = new Map<string, ConversationDoc | CollectionDocs['conversationGroups']>();
    const events: [string, StreamEvent][] = [];
    for (const collection of [Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS] as const) {
      const byOwner = this.#pending[collection] as Map<string, Map<string, Pending<Collection>>>;
      if (byOwner.size === 0) continue;
      // Owners in one global order: a backend with row locks (PostgreSQL) then never deadlocks
      // between two transactions that both touch several owners' logs.
      const owners = [...byOwner.keys()].sort();
      const ranges = await tx.advanceSeqs(collection, owners.map((owner) => ({ owner, count: byOwner.get(owner)?.size ?? 0 })));
      const writes = [];
      for (const range of ranges) {
        let seq = range.prev;
        const documents: CollectionDocs[Collection][] = [];
        for (const [id, pending] of byOwner.get(range.owner) ?? []) {
          seq++;
          const doc = collection === Collection.CONVERSATIONS ? { ...(pending.doc as ConversationDoc), serverRev: seq } : pending.doc;
          documents.push(doc);
          written.set(`${range.owner}\u0000${id}`, doc);
          writes.push({
            owner: range.owner, id, seq, json: JSON.stringify(doc), target: pending.target,
            ...(collection === Collection.CONVERSATIONS ? { list: listFacts(doc as ConversationDoc) } : {}),
          });
        }
        events.push([range.owner, { collection, documents, checkpoint: { seq: range.last }, prevSeq: range.prev } as StreamEvent]);
      }
      await tx.putDocs(collection, writes);
    }
    tx.afterCommit(() => {
      for (const [owner, event] of events) publish(owner, event);
    });
    return written;
  }

  #byOwner<C extends Collection>(collection: C, owner: string): Map<string, Pending<C>> {
    const all = this.#pending[collection] as unknown as Map<string, Map<string, Pending<C>>>;
    let map = all.get(owner);
    if (map === undefined) {
      map = new Map();
      all.set(owner, map);
    }
    return map;
  }
}

/** The key of a written document in `ChangeSet.commit`'s result. */
export function writtenKey(owner: string, id: string): string {
  return `${owner}\u0000${id}`;
}
