/** What the three services share: the context, the live views and the event emitters. */
import { ConvSyncError, ErrorCode, type ConversationDoc } from '@convsync/protocol';
import type { EngineContext } from '../context.js';
import type { Emitter } from '../events/emitter.js';
import { toConversation } from '../views/conversation-object.js';
import type { ConversationMirror } from '../views/conversation-mirror.js';
import type { LocalState } from '../views/local-state.js';
import type { UnreadIndex } from '../views/unread-index.js';
import type { Conversation, ConversationGroupListeners, ConversationListeners, MessageListeners } from './types.js';

export interface ServiceCore {
  readonly ctx: EngineContext;
  readonly index: UnreadIndex;
  readonly local: LocalState;
  /** The live list's mirror (starts on the first `conversationList$` subscription). */
  readonly mirror: ConversationMirror;
  readonly conversationEvents: Emitter<ConversationListeners>;
  readonly groupEvents: Emitter<ConversationGroupListeners>;
  readonly messageEvents: Emitter<MessageListeners>;
  /** Resolves once the views hold their initial state. */
  readonly ready: Promise<void>;
  /** True once the services were disposed (the engine closed): calls reject with 192005. */
  readonly closed: () => boolean;
  /**
   * While a fresh device's first page is shown but not yet stored: resolves once it is (calls wait
   * for it, so none reads a replica that lacks what the list shows; replication/first-page.ts).
   */
  readonly settled?: () => Promise<void> | undefined;
}

/** A replica document as the app sees it, with its device-local join. */
export function present(core: ServiceCore, doc: ConversationDoc): Conversation {
  return toConversation(doc, core.local.join(doc));
}

/** Splits `items` into slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs a call: a synchronous throw (argument validation) becomes a rejection like any other, and
 * anything that is not a ConvSyncError is normalised to one. While a fresh device's first page is
 * shown but not yet stored, the call runs once it is (`settled`: a local write, never the network).
 */
export function call<T>(core: Pick<ServiceCore, 'closed' | 'settled'>, task: () => Promise<T>): Promise<T> {
  const settling = core.settled?.();
  const run = (): Promise<T> => {
    if (core.closed()) return Promise.reject(new ConvSyncError(ErrorCode.CLOSED, 'the engine was closed'));
    try {
      return task().catch((error: unknown) => Promise.reject(ConvSyncError.from(error)));
    } catch (error) {
      return Promise.reject(ConvSyncError.from(error));
    }
  };
  return settling === undefined ? run() : settling.then(run);
}
