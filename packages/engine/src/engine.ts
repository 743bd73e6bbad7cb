/**
 * The composition root (docs/ARCHITECTURE.md "Packages and arrows"): `createConversationEngine` opens the device's
 * replica, starts connecting as soon as its device id is known (the handshake travels while the
 * collections and the rest open; with tabs, once this tab is elected), builds the clock (with
 * the offset to the server measured at the last connect, kept in the replica so an offline cold
 * start still stamps in line), the replication of conversations and groups, and the services. The
 * sync acts on the connection only once the services are ready, and a macrotask after that (see
 * `Sync.release`), so the app's listeners are in place first. It never waits for the network:
 * every call works on the replica from the first moment.
 */
import { Subject, filter, shareReplay, take, type Observable, type Subscription } from 'rxjs';
import {
  ConvSyncError,
  ErrorCode,
  conversationIdUtil as bindConversationIdUtil,
  type ConversationIdUtil,
} from '@convsync/protocol';
import { EngineClock } from './clock.js';
import type { EngineContext } from './context.js';
import { accountOfToken, parseOptions, type ConversationEngineOptions } from './options.js';
import { databaseNameFor, openReplica } from './replica/database.js';
import type { Replica } from './replica/types.js';
import type { SyncProgress } from './replication/first-page.js';
import type { SyncState } from './replication/sync-events.js';
import { LateMarks } from './replica/dirty.js';
import { FirstPageRelay } from './replication/first-page-relay.js';
import { startSync, type Sync } from './replication/sync.js';
import type { IndexStartReads, UnreadIndex } from './views/unread-index.js';
import {
  beginUnreadIndexReads,
  createServices,
  openUnreadIndex,
  type ConversationGroupService,
  type ConversationService,
  type MessageService,
  type Services,
} from './services/index.js';
import { newTabId, startElection, startTabs, tabNodeId, type Tabs } from './tabs/tabs.js';
import { SocketIoTransport } from './transport/socket-io.js';
import { startTokenRenewal } from './transport/token-renewal.js';
import { TokenSource } from './transport/token-source.js';
import type { Transport } from './transport/transport.js';

const CLOCK_OFFSET_KEY = 'clockOffsetMs';

/** One account's conversation engine on one device (docs/API.md "The engine"). */
export interface ConversationEngine {
  readonly accountId: string;
  readonly deviceId: string;
  readonly conversationService: ConversationService;
  readonly conversationGroupService: ConversationGroupService;
  readonly messageService: MessageService;
  /** The seed's id helpers, bound to this engine's account. */
  readonly conversationIdUtil: ConversationIdUtil;
  /** 'offline' | 'syncing' | 'synced' | 'error'; the current state first. */
  readonly syncState$: Observable<SyncState>;
  /**
   * `{ pulled, total }` while a device's first sync catches up, in log positions: `total` is the
   * first page's position (an estimate: it grows if the log moves on meanwhile), `pulled` reaches
   * it when caught up. Silent on a device that has synced before (docs/ARCHITECTURE.md "First sync").
   */
  readonly syncProgress$: Observable<SyncProgress>;
  /** Background trouble (a refused push, a failing listener, …) that no call can report. */
  readonly errors$: Observable<ConvSyncError>;
  /** Stops talking to the server; every call keeps working on the replica. */
  disconnect(): void;
  /** Talks again: pushes what was done meanwhile, pulls what was missed. */
  connect(): void;
  /** Stops replication, closes the connection and the database. */
  close(): Promise<void>;
}

/**
 * Opens the engine of one account on this device.
 *
 * @example
 * ```ts
 * const engine = await createConversationEngine({ url: 'http://127.0.0.1:3000', token });
 * engine.conversationService.totalUnreadCount$.subscribe((n) => console.log('unread', n));
 * await engine.conversationService.stickTopConversation('alice|1|bob', true);
 * await engine.close();
 * ```
 */
export async function createConversationEngine(input: ConversationEngineOptions): Promise<ConversationEngine> {
  const options = parseOptions(input);
  const errors$ = new Subject<ConvSyncError>();
  const reportError = (error: unknown): void => errors$.next(ConvSyncError.from(error));
  const tokens = new TokenSource({
    token: options.token,
    accountId: options.accountId,
    retry: options.tokenRetry,
    report: reportError,
    accountOf: accountOfToken,
  });
  // A provider without `accountId`: its first token names the account (and opens the first session).
  const firstToken = typeof options.token === 'string' ? options.token
    : options.accountId === undefined ? await tokens.first() : '';
  const accountId = options.accountId ?? accountOfToken(firstToken);
  if (accountId === undefined) throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the token names no account (no JWT `sub`): pass accountId');
  tokens.accountId = accountId;
  let replica: Replica;
  const databaseName = options.databaseName ?? databaseNameFor(accountId, options.deviceId);
  // Tabs of one browser profile share the replica; each has its own id (docs/ARCHITECTURE.md "Tabs").
  const tabId = options.multiInstance ? newTabId() : undefined;
  // The election needs only the replica's name: it runs while the replica opens.
  const election = tabId === undefined ? undefined : startElection({ name: databaseName, onError: reportError });
  const subscriptions: Subscription[] = [];
  let transport: Transport | undefined;
  let earlyConnect: Subscription | undefined;
  let indexReads: Promise<IndexStartReads> | undefined;
  const openTransport = (deviceId: string): Transport => options.transport?.({
    accountId,
    deviceId,
    token: firstToken,
    getToken: () => tokens.get(),
    now: options.now,
  }) ?? new SocketIoTransport({
    urls: options.urls,
    token: firstToken,
    tokens,
    deviceId,
    now: options.now,
    onError: reportError,
    ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }),
  });
  try {
    replica = await openReplica({
      name: databaseName,
      storage: options.storage,
      multiInstance: options.multiInstance,
      ...(options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB, IDBKeyRange: options.IDBKeyRange }),
      ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }),
      // The unread index's start-up reads need only the replica's own documents: they travel while
      // the collections open (a cold start waits on them before its first counts).
      onMeta: (meta) => {
        indexReads = beginUnreadIndexReads(meta, {
          ...(election === undefined ? {} : { leading: () => election.leadership.leading }),
          onError: reportError,
        });
      },
      // The handshake needs the device id, which is known before the collections are open: it
      // travels while they open (and the services after them). The sync acts on it once the
      // services are ready (`held`), so nothing is written before the views follow the replica.
      // With tabs, only the elected tab connects, as it would once its sync runs (tabs/tab-sync.ts).
      onDeviceId: (deviceId) => {
        const opened = openTransport(deviceId);
        transport = opened;
        if (!options.autoConnect) return;
        if (election === undefined) opened.connect();
        else earlyConnect = election.leadership.leading$.pipe(filter(Boolean), take(1)).subscribe(() => opened.connect());
      },
    });
  } catch (error) {
    earlyConnect?.unsubscribe();
    transport?.close();
    await election?.close();
    throw ConvSyncError.from(error);
  }
  // Elected later, the tab connects as its sync decides (the profile may have disconnected meanwhile).
  earlyConnect?.unsubscribe();

  let sync: Sync | undefined;
  let tabs: Tabs | undefined;
  let services: Services | undefined;
  /** Disposed with the services; on its own if they never opened. */
  let openedIndex: UnreadIndex | undefined;
  /** The last write of the clock offset; close() waits for it. */
  let metaWrite: Promise<void> = Promise.resolve();
  try {
    if (transport === undefined) throw new ConvSyncError(ErrorCode.INTERNAL, 'the replica opened without a device id');
    const liveTransport = transport;
    subscriptions.push(startTokenRenewal({ transport: liveTransport, tokens, now: options.now, report: reportError }));

    const stored = await replica.getMeta(CLOCK_OFFSET_KEY);
    const clock = new EngineClock({
      // Stamps unique per tab: two tabs stamping in one millisecond never produce the same stamp.
      deviceId: tabId === undefined ? replica.deviceId : tabNodeId(replica.deviceId, tabId),
      now: options.now,
      offsetMs: typeof stored === 'number' && Number.isFinite(stored) ? stored : 0,
    });
    // The clock follows the server from each connect on; the offset outlives the process.
    subscriptions.push(liveTransport.state$.subscribe((state) => {
      if (state.status !== 'online') return;
      const deviceNow = options.now();
      clock.syncWithServer(deviceNow + state.clockOffsetMs, deviceNow);
      metaWrite = metaWrite.then(() => replica.setMeta(CLOCK_OFFSET_KEY, clock.offsetMs)).catch(reportError);
    }));
    // The sync's first page reaches the views through the relay: with tabs, the leader's sync starts
    // only after its election (replication/first-page-relay.ts).
    const firstPage = new FirstPageRelay();
    // The conversations' dirty marks are found in the unread index (replica/dirty.ts), which is
    // opened once the sync's first page is attached (its start-up reads depend on the page's state).
    const marks = new LateMarks();
    const startReplication = (): Sync => {
      const started = startSync({ replica, transport: liveTransport, clock, reportError, held: true, conversationMarks: marks });
      firstPage.attach(started.firstPage);
      return started;
    };
    if (tabId === undefined || election === undefined) sync = startReplication();
    else {
      tabs = startTabs({
        tabId,
        election,
        replica,
        clock,
        transport: liveTransport,
        startSync: startReplication,
        autoConnect: options.autoConnect,
        requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
        reportError,
      });
      sync = tabs;
    }
    const liveTabs = tabs;
    const unreadIndex = openUnreadIndex({
      replica,
      onError: reportError,
      firstPage,
      ...(liveTabs === undefined ? {} : { leading: () => liveTabs.leading }),
      ...(indexReads === undefined ? {} : { startReads: indexReads }),
    });
    openedIndex = unreadIndex;
    marks.use(unreadIndex);
    // Online as the sync sees it: the services (the outbox) start sending only once it is released.
    const online$ = sync.online$.pipe(shareReplay({ bufferSize: 1, refCount: false }));
    subscriptions.push(online$.subscribe());

    const ctx: EngineContext = {
      accountId,
      replica,
      clock,
      transport: liveTabs?.transport ?? liveTransport,
      online$,
      reportError,
      ...(liveTabs === undefined ? {} : { leading: () => liveTabs.leading }),
    };
    services = createServices(ctx, sync, { firstPage, unreadIndex });
    if (liveTabs !== undefined) {
      // What the leader's outbox did with any tab's message reaches every tab's onSendMessage.
      const liveServices = services;
      liveServices.messageService.on('onSendMessage', (message) => {
        if (liveTabs.leading) liveTabs.relaySent(message);
      });
      subscriptions.push(liveTabs.sent$.subscribe((message) => liveServices.relaySendMessage(message)));
    }
    await services.ready;
    sync.release();

    let closing: Promise<void> | undefined;
    const liveSync = sync;
    const liveServices = services;
    return {
      accountId,
      deviceId: replica.deviceId,
      conversationService: liveServices.conversationService,
      conversationGroupService: liveServices.conversationGroupService,
      messageService: liveServices.messageService,
      conversationIdUtil: bindConversationIdUtil(accountId),
      syncState$: liveSync.syncState$,
      syncProgress$: firstPage.progress$,
      errors$: errors$.asObservable(),
      disconnect: () => (liveTabs === undefined ? liveTransport.disconnect() : liveTabs.disconnect()),
      connect: () => (liveTabs === undefined ? liveTransport.connect() : liveTabs.connect()),
      close() {
        closing ??= (async () => {
          await liveServices.dispose().catch(reportError);
          liveTransport.disconnect();
          await liveSync.cancel().catch(reportError);
          liveTransport.close();
          for (const subscription of subscriptions) subscription.unsubscribe();
          await metaWrite;
          await replica.close();
          errors$.complete();
        })();
        return closing;
      },
    };
  } catch (error) {
    await services?.dispose().catch(() => undefined);
    if (services === undefined) await openedIndex?.dispose().catch(() => undefined);
    await sync?.cancel().catch(() => undefined);
    transport?.close();
    for (const subscription of subscriptions) subscription.unsubscribe();
    // Once the tabs run, their cancel closes the election with them.
    if (tabs === undefined) await election?.close();
    await replica.close().catch(() => undefined);
    throw ConvSyncError.from(error);
  }
}
