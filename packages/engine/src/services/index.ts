/**
 * The services of the public API (docs/API.md) over one EngineContext.
 *
 * For src/index.ts (re-export from here): `createServices`, `Services`, `ServicesOptions`, and the
 * public types `Conversation`, `ConversationFilter`, `ConversationOption`, `ConversationResult`,
 * `ConversationOperationResult`, `ConversationGroup`, `ConversationGroupResult`,
 * `SendMessageParams`, `MessageListOption`, `Message`, `ConversationListeners`,
 * `ConversationGroupListeners`, `MessageListeners`, `ConversationService`,
 * `ConversationGroupService`, `MessageService`.
 *
 * The engine should `await services.ready` before handing the services out (the unread views'
 * one startup pass over the replica; no network involved), so `getTotalUnreadCount()` is right
 * from the first call; and `await services.dispose()` before closing the replica.
 */
import { from, skip, switchMap, type Subscription } from 'rxjs';
import type { EngineContext } from '../context.js';
import { Emitter } from '../events/emitter.js';
import type { FirstPageView } from '../replication/first-page-relay.js';
import type { SyncEvents } from '../replication/sync-events.js';
import { ConversationMirror } from '../views/conversation-mirror.js';
import { LocalState } from '../views/local-state.js';
import { readIndexStart, UnreadIndex, type IndexStartReads, type SnapshotStore } from '../views/unread-index.js';
import type { ReplicaMeta } from '../replica/database.js';
import { startChangeEvents } from './change-events.js';
import { createConversationService, type ConversationService } from './conversation-service.js';
import type { ServiceCore } from './core.js';
import { createConversationGroupService, type ConversationGroupService } from './group-service.js';
import { createMessageService, type MessageService } from './message-service.js';
import type { ConversationGroupListeners, ConversationListeners, Message, MessageListeners } from './types.js';

export type {
  Conversation,
  ConversationFilter,
  ConversationGroup,
  ConversationGroupListeners,
  ConversationGroupResult,
  ConversationListeners,
  ConversationOperationResult,
  ConversationOption,
  ConversationResult,
  Message,
  MessageListeners,
  MessageListOption,
  SendMessageParams,
} from './types.js';
export type { ConversationService } from './conversation-service.js';
export type { ConversationGroupService } from './group-service.js';
export type { MessageService } from './message-service.js';

export interface ServicesOptions {
  /** Outbox retry after a transient failure (ms, doubling up to `outboxMaxRetryDelayMs`). */
  outboxRetryDelayMs?: number;
  outboxMaxRetryDelayMs?: number;
  /** Id sources (injected for deterministic tests). */
  newGroupId?: () => string;
  newClientMessageId?: () => string;
  /** The first-sync page whose totals the unread views show during catch-up (first-page-relay.ts). */
  firstPage?: FirstPageView;
  /** Delay before the unread index writes its snapshot after a change (ms, default 2000). */
  unreadSnapshotDelayMs?: number;
  /**
   * The unread index, when the engine opened it before the services: the sync finds the
   * conversations' dirty marks in it (replica/dirty.ts). Opened here otherwise.
   */
  unreadIndex?: UnreadIndex;
}

/** What the unread index is opened with (see `openUnreadIndex`). */
export interface UnreadIndexContext {
  replica: EngineContext['replica'];
  /** With tabs: whether this tab leads (only the leader writes the snapshot). */
  leading?: () => boolean;
  onError: (error: unknown) => void;
  firstPage?: FirstPageView;
  unreadSnapshotDelayMs?: number;
  /** The index's start-up reads, begun by the engine while the collections opened (`beginUnreadIndexReads`). */
  startReads?: Promise<IndexStartReads>;
}

/** Where the unread index keeps its snapshot: the replica's own documents; with tabs, the leader writes. */
function snapshotStore(meta: ReplicaMeta, leading: (() => boolean) | undefined): SnapshotStore {
  return {
    get: (key) => meta.getMeta(key),
    set: (key, value) => (leading?.() === false ? Promise.resolve() : meta.setMeta(key, value)),
  };
}

/**
 * Begins the unread index's start-up reads (its snapshot, and the clean-close flag, written again)
 * as soon as the replica's own documents can be read: they then travel while the collections open.
 */
export function beginUnreadIndexReads(meta: ReplicaMeta, options: { leading?: () => boolean; onError: (error: unknown) => void }): Promise<IndexStartReads> {
  return readIndexStart(snapshotStore(meta, options.leading), { trustCleanClose: options.leading === undefined, onError: options.onError });
}

/**
 * The unread index of the replica's conversations. With tabs, every tab keeps one but only the
 * leader writes its snapshot (one writer), and a start always checks the snapshot against the
 * replica (another tab may have crashed).
 */
export function openUnreadIndex(context: UnreadIndexContext): UnreadIndex {
  const { replica, leading } = context;
  return new UnreadIndex(replica.conversations, {
    onError: context.onError,
    snapshots: snapshotStore(replica, leading),
    ...(leading === undefined ? {} : { trustCleanClose: false }),
    ...(context.unreadSnapshotDelayMs === undefined ? {} : { snapshotDelayMs: context.unreadSnapshotDelayMs }),
    ...(context.firstPage === undefined ? {} : { firstPage: context.firstPage }),
    ...(context.startReads === undefined ? {} : { startReads: context.startReads }),
  });
}

export interface Services {
  readonly conversationService: ConversationService;
  readonly conversationGroupService: ConversationGroupService;
  readonly messageService: MessageService;
  /** Resolves once the unread views and the local joins hold their initial state. */
  readonly ready: Promise<void>;
  /** Stops the views, events and outbox worker (waits for a send in flight). */
  dispose(): Promise<void>;
  /** Fires onSendMessage for a message another tab's outbox reported (tabs/tab-sync.ts). */
  relaySendMessage(message: Message): void;
}

const CONVERSATION_EVENTS: (keyof ConversationListeners)[] = [
  'onSyncStarted', 'onSyncFinished', 'onSyncFailed', 'onConversationCreated', 'onConversationDeleted',
  'onConversationChanged', 'onTotalUnreadCountChanged', 'onUnreadCountChangedByFilter', 'onConversationReadTimeUpdated',
];
const GROUP_EVENTS: (keyof ConversationGroupListeners)[] = [
  'onConversationGroupCreated', 'onConversationGroupDeleted', 'onConversationGroupChanged',
  'onConversationsAddedToGroup', 'onConversationsRemovedFromGroup',
];
const MESSAGE_EVENTS: (keyof MessageListeners)[] = ['onReceiveMessages', 'onSendMessage'];

export function createServices(ctx: EngineContext, sync: SyncEvents, options: ServicesOptions = {}): Services {
  let disposed = false;
  const onError = (error: unknown): void => ctx.reportError(error);
  const index = options.unreadIndex ?? openUnreadIndex({
    replica: ctx.replica,
    onError,
    ...(ctx.leading === undefined ? {} : { leading: ctx.leading }),
    ...(options.firstPage === undefined ? {} : { firstPage: options.firstPage }),
    ...(options.unreadSnapshotDelayMs === undefined ? {} : { unreadSnapshotDelayMs: options.unreadSnapshotDelayMs }),
  });
  const local = new LocalState(ctx.replica, ctx.accountId);
  const mirror = new ConversationMirror({
    collection: ctx.replica.conversations,
    index,
    onError,
    ...(options.firstPage === undefined ? {} : { page: options.firstPage }),
  });
  // The list's top page is read while the index and the local state load (an app shows the list first).
  mirror.prefetch();
  const firstPage = options.firstPage;
  const core: ServiceCore = {
    ctx,
    index,
    local,
    mirror,
    conversationEvents: new Emitter<ConversationListeners>({ names: CONVERSATION_EVENTS, onError }),
    groupEvents: new Emitter<ConversationGroupListeners>({ names: GROUP_EVENTS, onError }),
    messageEvents: new Emitter<MessageListeners>({ names: MESSAGE_EVENTS, onError }),
    ready: Promise.all([index.ready, local.ready]).then(() => undefined),
    closed: () => disposed,
    settled: () => firstPage?.settled(),
  };
  const subscriptions: Subscription[] = [
    startChangeEvents(core),
    sync.started$.subscribe(() => core.conversationEvents.emit('onSyncStarted')),
    sync.finished$.subscribe(() => core.conversationEvents.emit('onSyncFinished')),
    sync.failed$.subscribe((error) => core.conversationEvents.emit('onSyncFailed', error)),
  ];
  // The first total (the state at startup) is not a change.
  subscriptions.push(from(core.ready).pipe(switchMap(() => index.total$), skip(1)).subscribe((count) => {
    core.conversationEvents.emit('onTotalUnreadCountChanged', count);
  }));
  const conversationService = createConversationService(core);
  const messageService = createMessageService(core, {
    ...(options.outboxRetryDelayMs === undefined ? {} : { retryDelayMs: options.outboxRetryDelayMs }),
    ...(options.outboxMaxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: options.outboxMaxRetryDelayMs }),
    ...(options.newClientMessageId === undefined ? {} : { newClientMessageId: options.newClientMessageId }),
  });
  const conversationGroupService = createConversationGroupService(core,
    options.newGroupId === undefined ? {} : { newGroupId: options.newGroupId });
  return {
    conversationService,
    conversationGroupService,
    messageService,
    ready: core.ready,
    relaySendMessage: (message) => core.messageEvents.emit('onSendMessage', message),
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of subscriptions) s.unsubscribe();
      conversationService.dispose();
      await messageService.dispose();
      mirror.dispose();
      await index.dispose();
      local.dispose();
      core.conversationEvents.removeAllListeners();
      core.groupEvents.removeAllListeners();
      core.messageEvents.removeAllListeners();
    },
  };
}
