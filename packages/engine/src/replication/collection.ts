/**
 * One replicated collection: RxDB's `replicateRxCollection` over a Transport (DESIGN "Replication
 * over socket.io").
 *
 * - pull: `sync:pull` repeatedly (the server pages by bytes and says `hasMore`) until RxDB's batch
 *   is full or the log ends, so RxDB's "a short page is the end" rule holds; checkpoint `{seq}`.
 * - stream: the server's `sync:stream` through the StreamGate; 'RESYNC' at every connect.
 * - push: rows without RxDB meta, `sync:push`; the server answers the merged master of every row
 *   it did not take as sent, which RxDB resolves with the collection's conflict handler (merge).
 * - Handlers wait while the transport is offline instead of failing, so a reconnect resumes at
 *   once; a request that fails on the way throws, and RxDB retries it. Errors never escape as
 *   unhandled rejections: RxDB catches them and emits them on `error$`.
 * Every inbound document was validated by the transport (the protocol's answer and stream
 * schemas) before it gets here.
 */
import {
  Limits,
  maxStamp,
  NO_STAMP,
  primaryKeys,
  type Checkpoint,
  type Collection,
  type CollectionDocs,
  type ConversationDoc,
  type ConversationGroupDoc,
  type Stamp,
} from '@convsync/protocol';
import { BehaviorSubject, Subject, distinctUntilChanged, filter, firstValueFrom, map, type Observable } from 'rxjs';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import { awaitRxStorageReplicationIdle, type RxCollection, type RxReplicationPullStreamItem } from 'rxdb';
import type { EngineClock } from '../clock.js';
import type { Transport } from '../transport/transport.js';
import { bootstrapPull, type BootstrapPage } from './bootstrap.js';
import { withoutMeta } from './conflict.js';
import { chunkByBytes } from './push-chunks.js';
import { ResyncRequests } from './resync-requests.js';
import { SkippedMasters, type PushEpochs } from './skipped-masters.js';
import { StreamGate } from './stream-gate.js';

/** Documents RxDB asks for per pull cycle: large, so a fresh device syncs in few round trips. */
export const PULL_BATCH_SIZE = 2000;
/** Deliveries remembered for RxDB's hand-over lag (skipped-masters.ts): two pull batches, 3 s. */
const RECENT_DELIVERIES = 2 * PULL_BATCH_SIZE;
const RECENT_MS = 3000;
/** Rows per `sync:push`: ~100 conversations (with their assumed masters) stay far below 1.5 MB. */
export const PUSH_BATCH_SIZE = 100;

export interface CollectionReplicationOptions<C extends Collection> {
  collection: C;
  rxCollection: RxCollection<CollectionDocs[C]>;
  transport: Transport;
  clock: EngineClock;
  /** Resolves when the transport is online (or rejects once the engine closes). */
  waitOnline: () => Promise<void>;
  /** Each failed handler call, with the error the transport raised. */
  onHandlerError: (error: unknown) => void;
  /** The protocol's merge of two states of one document (the conflict handler's too). */
  merge: (a: CollectionDocs[C], b: CollectionDocs[C]) => CollectionDocs[C];
  /** The fresh-device fast path (replication/bootstrap.ts); default true. */
  bootstrap?: boolean;
  /** Delay before RxDB retries a failed handler (ms). */
  retryTimeMs?: number;
}

export interface CollectionReplication {
  readonly state: RxReplicationState<CollectionDocs[Collection], Checkpoint>;
  /** Pull everything missed, push everything pending (at each connect). */
  resync(): void;
  /** The connection was lost: judge stream events again only after the next pull. */
  connectionLost(): void;
  readonly active$: Observable<boolean>;
  /** Whether local changes are on their way to the server (a push on the wire). */
  readonly pushing$: Observable<boolean>;
  awaitInSync(): Promise<void>;
  cancel(): Promise<void>;
}

/** The newest stamp in a batch of documents (stamps are fixed-width: string order is time order). */
function newestStamp(docs: readonly (ConversationDoc | ConversationGroupDoc)[]): Stamp {
  let newest: Stamp = NO_STAMP;
  for (const doc of docs) {
    const clock = doc.clock as Record<string, string>;
    for (const key in clock) {
      const stamp = clock[key] as string;
      if (stamp > newest) newest = stamp;
    }
    if ('groups' in doc) for (const register of doc.groups) newest = maxStamp(newest, register.stamp);
  }
  return newest;
}

export function replicateCollection<C extends Collection>(options: CollectionReplicationOptions<C>): CollectionReplication {
  type Doc = CollectionDocs[C];
  const { collection, transport, clock, waitOnline } = options;
  const gate = new StreamGate();
  const stream$ = new Subject<RxReplicationPullStreamItem<Doc, Checkpoint>>();
  const resyncs = new ResyncRequests();
  /** Every resync goes through here, so one RxDB drops is asked again (resync-requests.ts). */
  const resync = (): void => {
    resyncs.ask();
    stream$.next('RESYNC');
    void askAgainWhenIdle();
  };
  const primaryKey = primaryKeys[collection];
  const idOf = (doc: Doc): string => (doc as Record<string, unknown>)[primaryKey] as string;
  const skipped = new SkippedMasters<Doc>({ merge: options.merge, idOf, recentLimit: RECENT_DELIVERIES, recentMs: RECENT_MS });
  /** Pushes on the wire. */
  const pushesInFlight = new BehaviorSubject(0);
  /** Pushes whose processing by RxDB has not finished yet (their skipped masters are not ready). */
  let pushesSettling = 0;
  let settled: Promise<void> = Promise.resolve();

  const observeStamps = (docs: readonly Doc[]): void => {
    const newest = newestStamp(docs);
    if (newest !== NO_STAMP) clock.receive(newest);
  };

  const guarded = async <T>(run: () => Promise<T>): Promise<T> => {
    await waitOnline();
    try {
      return await run();
    } catch (error) {
      options.onHandlerError(error);
      throw error;
    }
  };

  // The device's own writes (edits, inserts): every context but the replication's.
  const localWrites = options.rxCollection.storageInstance.changeStream().subscribe((bulk) => {
    if (bulk.context.startsWith('replication-')) return;
    skipped.localWrite(bulk.events.map((event) => event.documentId));
  });

  const streamSubscription = transport.stream$.subscribe((event) => {
    if (event.collection !== collection) return;
    const decision = gate.decide(event as typeof event & { documents: Doc[] });
    if (decision.kind === 'forward') {
      observeStamps(decision.documents);
      skipped.delivered(decision.documents);
      stream$.next({ documents: decision.documents, checkpoint: decision.checkpoint });
    } else if (decision.kind === 'resync') {
      resync();
    }
  });

  // The handlers read `state` only once the replication runs (after this initializer).
  const state: RxReplicationState<Doc, Checkpoint> = replicateRxCollection<Doc, Checkpoint>({
    replicationIdentifier: `convsync-v1-${collection}`,
    collection: options.rxCollection,
    live: true,
    retryTime: options.retryTimeMs ?? 1000,
    waitForLeadership: false,
    toggleOnDocumentVisible: false,
    autoStart: true,
    pull: {
      batchSize: PULL_BATCH_SIZE,
      stream$: stream$.asObservable(),
      handler: (checkpoint, batchSize) => {
        resyncs.pullStarted();
        return guarded(async () => {
          if ((checkpoint === undefined || checkpoint === null) && options.bootstrap !== false) {
            const boot = await bootstrapPull<Doc>({
              rxCollection: options.rxCollection,
              replication: state.internalReplicationState,
              primaryKey,
              fetchPage: (at) => transport.request('sync:pull', { collection, checkpoint: at, batchSize: Limits.MAX_PULL_BATCH }) as Promise<unknown> as Promise<BootstrapPage<Doc>>,
              onPage: observeStamps,
            });
            if (boot !== null) {
              gate.pulled(boot.checkpoint);
              return { documents: skipped.withReady(boot.documents), checkpoint: boot.checkpoint };
            }
          }
          const documents: Doc[] = [];
          let at: Checkpoint | null = checkpoint ?? null;
          for (;;) {
            const want = Math.min(Limits.MAX_PULL_BATCH, batchSize - documents.length);
            const page = await transport.request('sync:pull', { collection, checkpoint: at, batchSize: want });
            for (const doc of page.documents as Doc[]) documents.push(doc);
            at = page.checkpoint;
            if (!page.hasMore || documents.length >= batchSize) break;
          }
          gate.pulled(at);
          observeStamps(documents);
          return { documents: skipped.withReady(documents), checkpoint: at };
        });
      },
    },
    push: {
      batchSize: PUSH_BATCH_SIZE,
      handler: (rows) =>
        guarded(async () => {
          const payload = rows.map((row) => ({
            assumedMasterState: row.assumedMasterState === undefined ? null : withoutMeta(row.assumedMasterState),
            newDocumentState: withoutMeta(row.newDocumentState),
          }));
          const epochs = skipped.pushing(payload.map((row) => idOf(row.newDocumentState)));
          pushesInFlight.next(pushesInFlight.getValue() + 1);
          try {
            const conflicts: Doc[] = [];
            // Rows a failed chunk sent already are merged again when RxDB retries: a push is idempotent.
            for (const rows of chunkByBytes(payload, Limits.MAX_PUSH_BYTES)) {
              const answer = await transport.request('sync:push', { collection, rows } as never);
              for (const doc of answer.conflicts as Doc[]) conflicts.push(doc);
            }
            observeStamps(conflicts);
            afterPushProcessed(epochs, payload.map((row) => row.newDocumentState), conflicts);
            return conflicts;
          } finally {
            pushesInFlight.next(pushesInFlight.getValue() - 1);
          }
        }),
    },
  });

  /**
   * Once RxDB has processed this push — its conflict writes and assumed masters are stored: the
   * upstream queue that runs this handler has moved past it — what its downstream may have
   * skipped meanwhile is pulled again (skipped-masters.ts).
   */
  function afterPushProcessed(epochs: PushEpochs, sent: readonly Doc[], conflicts: readonly Doc[]): void {
    const results = new Map<string, Doc>();
    for (const doc of sent) results.set(idOf(doc), doc);
    for (const doc of conflicts) results.set(idOf(doc), doc);
    const processed = state.internalReplicationState?.streamQueue.up ?? Promise.resolve();
    pushesSettling++;
    const done = processed.then(
      () => {
        pushesSettling--;
        if (skipped.pushed(epochs, results)) resync();
      },
      () => {
        pushesSettling--;
      },
    );
    settled = Promise.all([settled, done]).then(() => undefined);
  }

  /** Whether a watcher waits for RxDB to be idle to check the resyncs asked. */
  let watching = false;
  /**
   * Once RxDB has nothing left to do — no push (stream events and resyncs wait for pushes), both
   * queues drained — a resync no pull answered was dropped: it is asked again.
   */
  async function askAgainWhenIdle(): Promise<void> {
    if (watching) return;
    watching = true;
    try {
      while (resyncs.unanswered && !state.isStopped()) {
        const internal = state.internalReplicationState;
        if (internal === undefined) {
          await state.awaitInitialReplication();
          continue;
        }
        await firstValueFrom(internal.events.active.up.pipe(filter((active) => !active)));
        await awaitRxStorageReplicationIdle(internal);
        // RxDB adds a task a few ticks after the push ends: let it, then look.
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (!resyncs.unanswered || internal.events.active.up.getValue()) continue;
        await awaitRxStorageReplicationIdle(internal);
        if (resyncs.unanswered && !internal.events.active.up.getValue()) stream$.next('RESYNC');
      }
    } catch {
      // Cancelled: nothing left to watch.
    } finally {
      watching = false;
    }
  }

  /** In sync: RxDB idle, no push still settling, nothing skipped waiting to be pulled again. */
  async function awaitInSync(): Promise<void> {
    for (;;) {
      // RxDB's own awaitInSync first waits, twice, for the whole database to be idle (timer hops
      // between the last page and 'synced'); its queues are enough: a write's change event reaches
      // the upstream's queue before the write resolves.
      await state.awaitInitialReplication();
      const internal = state.internalReplicationState;
      if (internal !== undefined) await awaitRxStorageReplicationIdle(internal);
      if ((pushesSettling === 0 && !skipped.hasReady && !resyncs.unanswered) || state.isStopped()) return;
      await settled;
      if (skipped.hasReady || resyncs.unanswered) resync();
      // RxDB may pick the RESYNC up a tick later: let it start before asking whether it is idle.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  return {
    state: state as unknown as CollectionReplication['state'],
    resync,
    connectionLost() {
      gate.reset();
    },
    active$: state.active$,
    pushing$: pushesInFlight.pipe(map((count) => count > 0), distinctUntilChanged()),
    awaitInSync,
    async cancel() {
      streamSubscription.unsubscribe();
      localWrites.unsubscribe();
      await state.cancel();
      stream$.complete();
      pushesInFlight.complete();
    },
  };
}
