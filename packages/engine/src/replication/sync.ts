/**
 * Replication of the account's two replicated collections (replication/collection.ts), and the
 * sync state the app sees (SyncEvents): 'offline' while the transport is not online, 'syncing'
 * from each connect until caught up, then 'synced' — and 'syncing' again while a later change is
 * on its way (an app's "saving…"); 'error' when the server refuses the session (302 auth, 192003
 * protocol — terminal until `connect()`) or stays unreachable past a few attempts.
 *
 * 'synced' is a state, not a guess: both collections pulled to the head of their log on this
 * connection with no stream event waiting, no document is dirty, and the outbox holds no message
 * still to send. No timer, polling or time window decides it.
 */
import { BehaviorSubject, Subject, combineLatest, distinctUntilChanged, filter, firstValueFrom, map, race, type Observable, type Subscription } from 'rxjs';
import { Collection, ConvSyncError, ErrorCode, mergeConversation, mergeConversationGroup, type Checkpoint } from '@convsync/protocol';
import type { EngineClock } from '../clock.js';
import type { DirtyMarks } from '../replica/dirty.js';
import { checkpointKey, type Replica } from '../replica/types.js';
import type { ConnectionState, Transport } from '../transport/transport.js';
import { startCollectionReplicator, type CheckpointStore, type CollectionReplicator } from './collection.js';
import { FirstPage } from './first-page.js';
import type { SyncEvents, SyncState } from './sync-events.js';

/**
 * A collection's checkpoint in the replica. Read once per sync: this sync is its only writer
 * while it runs (with tabs, the leader's), and the first page reads it too, as the sync starts.
 */
function checkpointsOf(replica: Replica, collection: Collection): CheckpointStore {
  let loaded: Promise<Checkpoint | null> | undefined;
  const read = async (): Promise<Checkpoint | null> => {
    const stored = await replica.getMeta(checkpointKey(collection));
    const seq = (stored as { seq?: unknown } | undefined)?.seq;
    return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? { seq } : null;
  };
  return {
    load() {
      loaded ??= read();
      // A failed read is tried again by the next load.
      loaded.catch(() => {
        loaded = undefined;
      });
      return loaded;
    },
    async save(checkpoint: Checkpoint) {
      await replica.setMeta(checkpointKey(collection), checkpoint);
      loaded = Promise.resolve(checkpoint);
    },
  };
}

export interface SyncOptions {
  replica: Replica;
  transport: Transport;
  clock: EngineClock;
  /** Background trouble that is not a sync failure (a refused push batch, …). */
  reportError: (error: unknown) => void;
  /** Failed connection attempts in a row after which the state shows 'error' (default 3). */
  unreachableAfterAttempts?: number;
  /**
   * The conversations' dirty marks (the unread index keeps them: replica/dirty.ts); the
   * conversations collection has no index on `dirty`.
   */
  conversationMarks: DirtyMarks;
  /**
   * The connection may open before the engine is ready to replicate (its views not yet following
   * the replica): the sync ignores it — no pull, no push, state 'offline' — until `release()`. Only
   * a fresh replica's first page is asked for on it meanwhile; it is stored after the release.
   */
  held?: boolean;
}

export interface Sync extends SyncEvents {
  /** Whether the connection is online as the sync acts on it (false while held); the current value first. */
  readonly online$: Observable<boolean>;
  /** Resolves once the state is 'synced' (both collections caught up, nothing to send). */
  awaitInSync(): Promise<void>;
  /**
   * The first-sync page and its totals during catch-up (first-page.ts). Optional: a sync that
   * wraps another (a follower tab's) may have none, and then counts locally as before.
   */
  readonly firstPage?: FirstPage;
  /**
   * Starts acting on the connection (see `held`) a macrotask later, so that the sync's first events
   * (started, failed) come after the engine is handed out even when the connection opened before:
   * an app that adds its listeners at once still sees them, as when the connection opens after.
   */
  release(): void;
  cancel(): Promise<void>;
}

export function startSync(options: SyncOptions): Sync {
  const { replica, transport, clock } = options;
  const state$ = new BehaviorSubject<SyncState>('offline');
  const started$ = new Subject<void>();
  const finished$ = new Subject<void>();
  const failed$ = new Subject<ConvSyncError>();
  const closed$ = new BehaviorSubject<boolean>(false);
  const connection$ = new BehaviorSubject<ConnectionState>({ status: 'offline', reason: 'not-started' });
  const subscriptions: Subscription[] = [];
  /** Whether the current connection has been caught up once (its `finished$` is out). */
  let caughtUp = false;
  let reportedUnreachable = false;

  const common = { transport, clock, reportError: options.reportError };
  const conversationCheckpoints = checkpointsOf(replica, Collection.CONVERSATIONS);
  const firstPage = new FirstPage(replica, options.reportError, () => conversationCheckpoints.load());
  const replicators: CollectionReplicator[] = [
    startCollectionReplicator({
      ...common,
      collection: Collection.CONVERSATIONS,
      rxCollection: replica.conversations,
      marks: options.conversationMarks,
      merge: mergeConversation,
      checkpoints: conversationCheckpoints,
      onAdvanced: (checkpoint) => firstPage.advanced(checkpoint, false),
      beforeFirstPull: async (store) => {
        await firstPage.loaded;
        await firstPage.fetch(transport, store);
      },
      onPulled: (checkpoint) => firstPage.caughtUp(checkpoint),
      storeEarly: (checkpoint) => firstPage.storesEarly(checkpoint),
    }),
    startCollectionReplicator({
      ...common,
      collection: Collection.CONVERSATION_GROUPS,
      rxCollection: replica.groups,
      merge: mergeConversationGroup,
      checkpoints: checkpointsOf(replica, Collection.CONVERSATION_GROUPS),
    }),
  ];
  /** Messages still to send (the outbox worker delivers them; 'failed' ones wait for the app). */
  const outboxEmpty$ = replica.outbox.find({ selector: { state: 'sending' }, limit: 1 }).$.pipe(map((found) => found.length === 0));
  const inSync$ = new BehaviorSubject(false);
  subscriptions.push(combineLatest([...replicators.map((r) => r.idle$), outboxEmpty$])
    .pipe(map((each) => each.every(Boolean)), distinctUntilChanged())
    .subscribe((inSync) => {
      if (connection$.getValue().status === 'online' && !closed$.getValue()) {
        if (inSync && !caughtUp) {
          caughtUp = true;
          state$.next('synced');
          finished$.next();
        } else if (caughtUp) state$.next(inSync ? 'synced' : 'syncing');
      }
      inSync$.next(inSync);
    }));

  const awaitInSync = async (): Promise<void> => {
    const next = await firstValueFrom(race(
      combineLatest([inSync$, connection$]).pipe(
        filter(([inSync, connection]) => inSync && connection.status === 'online' && caughtUp),
        map(() => 'synced' as const),
      ),
      closed$.pipe(filter(Boolean), map(() => 'closed' as const)),
    ));
    if (next === 'closed') throw new ConvSyncError(ErrorCode.CLOSED, 'the engine is closed');
  };

  let released = options.held !== true;
  /** The latest connection state seen while held. */
  let heldState: ConnectionState | undefined;
  const onConnection = (connection: ConnectionState): void => {
    const previous = connection$.getValue();
    if (connection.status === 'online') {
      if (previous.status === 'online') return;
      reportedUnreachable = false;
      caughtUp = false;
      connection$.next(connection);
      started$.next();
      state$.next('syncing');
      for (const replicator of replicators) replicator.connected();
      return;
    }
    connection$.next(connection);
    if (previous.status === 'online') {
      for (const replicator of replicators) replicator.disconnected();
    }
    if (connection.status === 'failed') {
      state$.next('error');
      failed$.next(connection.error);
      return;
    }
    if (connection.status === 'offline' && connection.reason !== 'network') reportedUnreachable = false;
    const limit = options.unreachableAfterAttempts ?? 3;
    if (connection.status === 'connecting' && connection.attempt > limit && !reportedUnreachable) {
      reportedUnreachable = true;
      state$.next('error');
      failed$.next(new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, 'the server is unreachable; still retrying'));
      return;
    }
    state$.next(reportedUnreachable ? 'error' : 'offline');
  };
  // A fresh replica's first page travels while the engine still opens its views (first-page.ts).
  let wasOnline = false;
  subscriptions.push(transport.state$.subscribe((connection) => {
    const online = connection.status === 'online';
    if (online && !wasOnline) firstPage.prefetch(transport);
    else if (!online) firstPage.dropPrefetch();
    wasOnline = online;
  }));
  subscriptions.push(transport.state$.subscribe((connection) => {
    if (released) onConnection(connection);
    else heldState = connection;
  }));

  const takeHeld = (): void => {
    released = true;
    const connection = heldState;
    heldState = undefined;
    if (connection !== undefined && !closed$.getValue()) onConnection(connection);
  };

  return {
    syncState$: state$.pipe(distinctUntilChanged()),
    online$: connection$.pipe(map((connection) => connection.status === 'online'), distinctUntilChanged()),
    started$: started$.asObservable(),
    finished$: finished$.asObservable(),
    failed$: failed$.asObservable(),
    awaitInSync,
    firstPage,
    release() {
      if (released) return;
      // setImmediate where there is one (Node): a macrotask without setTimeout's 1 ms floor.
      if (typeof setImmediate === 'function') setImmediate(takeHeld);
      else setTimeout(takeHeld, 0);
    },
    async cancel() {
      if (closed$.getValue()) return;
      closed$.next(true);
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.all(replicators.map((r) => r.cancel()));
      await firstPage.flush();
      firstPage.dispose();
      inSync$.complete();
      state$.next('offline');
      state$.complete();
      started$.complete();
      finished$.complete();
      failed$.complete();
    },
  };
}
