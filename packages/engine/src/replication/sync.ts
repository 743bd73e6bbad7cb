/**
 * Replication of the account's two replicated collections, and the sync state the app sees
 * (SyncEvents): 'offline' while the transport is not online, 'syncing' from each connect until
 * both collections pulled what they missed and pushed what was pending, then 'synced' — and
 * 'syncing' again while a later local change is being pushed (an app's "saving…"); 'error'
 * when the server refuses the session (302 auth, 192003 protocol — terminal until `connect()`) or
 * stays unreachable past a few attempts.
 *
 * At each connect: `started$`, 'RESYNC' on both collections (pull from the checkpoint, push from
 * the upstream checkpoint), then `finished$` once RxDB reports both in sync on that connection.
 */
import { BehaviorSubject, Subject, combineLatest, distinctUntilChanged, filter, firstValueFrom, map, race, type Observable, type Subscription } from 'rxjs';
import { Collection, ConvSyncError, ErrorCode, mergeConversation, mergeConversationGroup } from '@convsync/protocol';
import type { EngineClock } from '../clock.js';
import type { Replica } from '../replica/types.js';
import type { ConnectionState, Transport } from '../transport/transport.js';
import { conversationConflictHandler, groupConflictHandler } from './conflict.js';
import { replicateCollection, type CollectionReplication } from './collection.js';
import type { SyncEvents, SyncState } from './sync-events.js';

export interface SyncOptions {
  replica: Replica;
  transport: Transport;
  clock: EngineClock;
  /** Background trouble that is not a sync failure (a refused push batch, …). */
  reportError: (error: unknown) => void;
  /** Failed connection attempts in a row after which the state shows 'error' (default 3). */
  unreachableAfterAttempts?: number;
  retryTimeMs?: number;
  /**
   * The connection may open before the engine is ready to replicate (its views not yet following
   * the replica): the sync ignores it — no pull, no push, state 'offline' — until `release()`.
   */
  held?: boolean;
}

export interface Sync extends SyncEvents {
  /** Whether the connection is online as the sync acts on it (false while held); the current value first. */
  readonly online$: Observable<boolean>;
  /** Resolves once both collections are in sync on the current connection. */
  awaitInSync(): Promise<void>;
  /**
   * Starts acting on the connection (see `held`) a macrotask later, so that the sync's first events
   * (started, failed) come after the engine is handed out even when the connection opened before:
   * an app that adds its listeners at once still sees them, as when the connection opens after.
   */
  release(): void;
  cancel(): Promise<void>;
}

/** Errors of a connection going away: RxDB retries them, the app sees 'offline', not a failure. */
const CONNECTION_CODES: ReadonlySet<number> = new Set([
  ErrorCode.OFFLINE,
  ErrorCode.TIMEOUT,
  ErrorCode.SERVER_UNREACHABLE,
  ErrorCode.CLOSED,
  ErrorCode.RATE_LIMITED,
]);

export function startSync(options: SyncOptions): Sync {
  const { replica, transport, clock } = options;
  const state$ = new BehaviorSubject<SyncState>('offline');
  const started$ = new Subject<void>();
  const finished$ = new Subject<void>();
  const failed$ = new Subject<ConvSyncError>();
  const closed$ = new BehaviorSubject<boolean>(false);
  const connection$ = new BehaviorSubject<ConnectionState>({ status: 'offline', reason: 'not-started' });
  const subscriptions: Subscription[] = [];
  let connectionId = 0;
  /** The connection whose catch-up finished (state 'synced' unless a push is on the wire). */
  let caughtUpId = -1;
  let pushing = false;
  let reportedUnreachable = false;

  const waitOnline = async (): Promise<void> => {
    if (connection$.getValue().status === 'online') return;
    const next = await firstValueFrom(race(
      connection$.pipe(filter((s) => s.status === 'online'), map(() => 'online' as const)),
      closed$.pipe(filter(Boolean), map(() => 'closed' as const)),
    ));
    if (next === 'closed') throw new ConvSyncError(ErrorCode.CLOSED, 'the engine is closed');
  };

  const onHandlerError = (thrown: unknown): void => {
    const error = ConvSyncError.from(thrown);
    if (!CONNECTION_CODES.has(error.code)) options.reportError(error);
  };

  // The merge resolves conflicts. database.ts passes these handlers to addCollections; this keeps a
  // replica opened any other way converging too (RxDB reads the handler when replication starts).
  if (replica.conversations.conflictHandler !== conversationConflictHandler) {
    replica.conversations.conflictHandler = conversationConflictHandler;
  }
  if (replica.groups.conflictHandler !== groupConflictHandler) replica.groups.conflictHandler = groupConflictHandler;

  const common = { transport, clock, waitOnline, onHandlerError, ...(options.retryTimeMs === undefined ? {} : { retryTimeMs: options.retryTimeMs }) };
  const replications: CollectionReplication[] = [
    replicateCollection({ ...common, collection: Collection.CONVERSATIONS, rxCollection: replica.conversations, merge: mergeConversation }),
    replicateCollection({ ...common, collection: Collection.CONVERSATION_GROUPS, rxCollection: replica.groups, merge: mergeConversationGroup }),
  ];
  // RxDB's own error$ repeats what onHandlerError saw; subscribing keeps it from going unobserved.
  for (const replication of replications) subscriptions.push(replication.state.error$.subscribe(() => undefined));
  subscriptions.push(combineLatest(replications.map((r) => r.pushing$)).subscribe((each) => {
    pushing = each.some(Boolean);
    if (caughtUpId === connectionId && connection$.getValue().status === 'online' && !closed$.getValue()) {
      state$.next(pushing ? 'syncing' : 'synced');
    }
  }));

  const awaitInSync = async (): Promise<void> => {
    await Promise.all(replications.map((r) => r.awaitInSync()));
  };

  // RxDB starts each replication with a pull of its own, which waits for the first connection:
  // only later connections need the 'RESYNC' (one round trip less on a cold start).
  let connectedBefore = false;
  const catchUp = (id: number): void => {
    started$.next();
    state$.next('syncing');
    if (connectedBefore) for (const replication of replications) replication.resync();
    connectedBefore = true;
    void (async () => {
      // RxDB may pick the RESYNC up a tick later: let it start before asking whether it is idle.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await awaitInSync();
    })().then(
      () => {
        if (id !== connectionId || closed$.getValue()) return;
        caughtUpId = id;
        state$.next(pushing ? 'syncing' : 'synced');
        finished$.next();
      },
      (error: unknown) => {
        if (id === connectionId && !closed$.getValue()) options.reportError(error);
      },
    );
  };

  let released = options.held !== true;
  /** The latest connection state seen while held. */
  let heldState: ConnectionState | undefined;
  const onConnection = (connection: ConnectionState): void => {
    const previous = connection$.getValue();
    connection$.next(connection);
    if (connection.status === 'online') {
      if (previous.status === 'online') return;
      connectionId++;
      reportedUnreachable = false;
      catchUp(connectionId);
      return;
    }
    if (previous.status === 'online') {
      connectionId++;
      for (const replication of replications) replication.connectionLost();
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
      await Promise.all(replications.map((r) => r.cancel()));
      state$.next('offline');
      state$.complete();
      started$.complete();
      finished$.complete();
      failed$.complete();
    },
  };
}
