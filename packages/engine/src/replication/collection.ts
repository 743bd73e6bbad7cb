/**
 * The replicator of one collection (docs/ARCHITECTURE.md "Replication"). The merge is a join
 * (commutative, associative, idempotent), so replication needs no conflict protocol:
 *
 * - down: a pulled page or a streamed commit is stored as `join(local, incoming)` (one bulkWrite
 *   per page), then the checkpoint is saved. Arrival order does not matter and nothing older is
 *   ever stored over something newer. A stream event is applied only when its `prevSeq` is where
 *   this connection's log position stands (stream-gate.ts); otherwise the replicator pulls from
 *   the checkpoint.
 * - up: local edits mark their documents dirty with an epoch (replica/dirty.ts). The replicator
 *   pushes dirty documents in byte-bounded chunks, stores `join(local, answer)`, and clears a mark
 *   only if its epoch did not move meanwhile. A push is idempotent, so any retry is safe.
 * - idle: pulled to the head of the log on this connection, no stream event waiting, nothing dirty.
 *
 * One loop per collection does all of it, one step at a time, so its own writes never race each
 * other; writes of local edits (this tab's or another's) race it only through the storage, whose
 * revision check (409) makes the loser read again. Dirty marks are found by a query of the
 * storage, and the collection's change events (other tabs' included) wake the loop: what it does
 * next is decided by the stored state, never by a timer.
 */
import {
  ConvSyncError,
  ErrorCode,
  jsonEqual,
  Limits,
  maxStamp,
  NO_STAMP,
  primaryKeys,
  type Checkpoint,
  type Collection,
  type CollectionDocs,
  type StreamEvent,
  type Stamp,
} from '@convsync/protocol';
import { BehaviorSubject, combineLatest, distinctUntilChanged, map, type Observable, type Subscription } from 'rxjs';
import { registerMutableWriteContext, type RxChangeEventBulk, type RxCollection, type RxDocumentData } from 'rxdb';
import type { EngineClock } from '../clock.js';
import { epochOf, findDirty, findMarked, type DirtyMarks } from '../replica/dirty.js';
import { documentOf, toRowInPlace, type RowMeta } from '../replica/rows.js';
import type { Transport } from '../transport/transport.js';
import { LocalIds } from './local-ids.js';
import { chunkByBytes } from './push-chunks.js';
import { StreamGate } from './stream-gate.js';

/** Documents per pushed batch (then split further by bytes: push-chunks.ts). */
export const PUSH_BATCH_SIZE = 100;
/** The write context of the replicator's writes (seen on change events). */
export const REPLICATION_CONTEXT = 'convsync-replication';
/** The write context of stream events stored ahead of the catch-up pull (first-page.ts). */
export const EARLY_STREAM_CONTEXT = 'convsync-replication-early';

/**
 * The write context of the replicator's inserts. Every inserted document is an object of the
 * replicator's own (built for the write, or a pulled page's, parsed for it alone), so RxDB may
 * take it as it is instead of copying it first (`registerMutableWriteContext`: for inserts only,
 * hence a context of their own).
 */
export const REPLICATION_INSERT_CONTEXT = 'convsync-replication-insert';
registerMutableWriteContext(REPLICATION_INSERT_CONTEXT);

/** Whether a write context is the replicator's storing of pulled or pushed states (not a local edit). */
export function isReplicationWrite(context: string): boolean {
  return context === REPLICATION_CONTEXT || context === REPLICATION_INSERT_CONTEXT;
}

const NO_ERRORS = { error: [] } as const;
const NO_IDS: ReadonlySet<string> = new Set();
/** A pull saves its checkpoint once this many documents are stored since the last save (and at the head). */
export const CHECKPOINT_EVERY_DOCUMENTS = 10_000;

/** Errors of a connection going away: the step is retried once the next connection is up. */
const CONNECTION_CODES: ReadonlySet<number> = new Set([ErrorCode.OFFLINE, ErrorCode.SERVER_UNREACHABLE, ErrorCode.CLOSED]);
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export interface CheckpointStore {
  load(): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
}

export interface CollectionReplicatorOptions<C extends Collection> {
  collection: C;
  rxCollection: RxCollection<CollectionDocs[C]>;
  transport: Transport;
  clock: EngineClock;
  checkpoints: CheckpointStore;
  /** The protocol's join of two states of one document. */
  merge: (a: CollectionDocs[C], b: CollectionDocs[C]) => CollectionDocs[C];
  /** Trouble that is not a lost connection (a refused push, a failed write). */
  reportError: (error: unknown) => void;
  /** Where the dirty documents are found when the collection has no index on `dirty` (replica/dirty.ts). */
  marks?: DirtyMarks;
  /** Before a pull from the start: stores the first-sync page with `store` (first-page.ts). */
  beforeFirstPull?: (store: (docs: CollectionDocs[C][]) => Promise<void>) => Promise<void>;
  /** The checkpoint moved (a pulled page or a streamed commit), saved or not. */
  onAdvanced?: (checkpoint: Checkpoint) => void;
  /** A pull reached the head of the log. */
  onPulled?: (checkpoint: Checkpoint) => void;
  /** Whether a stream event is stored as it comes, ahead of the pull (a first sync's catch-up). */
  storeEarly?: (checkpoint: Checkpoint) => boolean;
}

export interface CollectionReplicator {
  /** True while caught up on an online connection (see the file's comment); false when offline. */
  readonly idle$: Observable<boolean>;
  /** A connection is up: pull from the checkpoint, then follow the stream and push. */
  connected(): void;
  /** The connection is gone: stop, and judge stream events again only after the next pull. */
  disconnected(): void;
  cancel(): Promise<void>;
}

type Stored<Doc> = RxDocumentData<Doc> & { dirty?: number };

/** The newest stamp in a batch (stamps are fixed-width: string order is time order). */
function newestStamp(docs: readonly object[]): Stamp {
  let newest: Stamp = NO_STAMP;
  for (const doc of docs) {
    const clock = (doc as { clock: Record<string, string> }).clock;
    for (const key in clock) if ((clock[key] as string) > newest) newest = clock[key] as string;
    const groups = (doc as { groups?: { stamp: Stamp }[] }).groups;
    if (groups !== undefined) for (const register of groups) newest = maxStamp(newest, register.stamp);
  }
  return newest;
}

/**
 * One direction's work loop: runs `step` while online until it finds nothing to do (then it is
 * idle and sleeps until poked). A step that fails for want of a connection runs again on the next
 * one; a timeout at once; anything else after a backoff (or the next connection, if sooner).
 */
class Loop {
  readonly idle$ = new BehaviorSubject(false);
  readonly #step: () => Promise<boolean>;
  readonly #reportError: (error: unknown) => void;
  #online = false;
  #closed = false;
  #connection = 0;
  #waitForConnection = -1;
  #retryDelay = FIRST_RETRY_MS;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #woken = false;
  #wake: (() => void) | undefined;
  readonly running: Promise<void>;

  constructor(step: () => Promise<boolean>, reportError: (error: unknown) => void) {
    this.#step = step;
    this.#reportError = reportError;
    this.running = this.#run();
  }

  /** There may be work: not idle any more, and look again. */
  busy(): void {
    if (this.idle$.getValue()) this.idle$.next(false);
    this.#woken = true;
    this.#wake?.();
  }

  online(online: boolean): void {
    this.#online = online;
    if (online) this.#connection++;
    this.busy();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#online = false;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.busy();
    await this.running;
    this.idle$.complete();
  }

  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (this.#woken || this.#closed) resolve();
    }).then(() => {
      this.#wake = undefined;
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      this.#woken = false;
      if (!this.#online || this.#waitForConnection === this.#connection) {
        await this.#sleep();
        continue;
      }
      // A step that fails for want of a connection waits for one newer than the one it ran on.
      const attempt = this.#connection;
      let worked: boolean;
      try {
        worked = await this.#step();
        this.#retryDelay = FIRST_RETRY_MS;
      } catch (error) {
        this.#failed(error, attempt);
        continue;
      }
      if (worked || this.#woken) continue;
      if (!this.idle$.getValue()) this.idle$.next(true);
      await this.#sleep();
    }
  }

  #failed(thrown: unknown, attempt: number): void {
    if (this.#closed) return;
    const error = ConvSyncError.from(thrown);
    if (CONNECTION_CODES.has(error.code)) {
      // The transport goes offline and online again: the step runs again then.
      this.#waitForConnection = attempt;
      return;
    }
    if (error.code === ErrorCode.TIMEOUT) return; // Still online: the step runs again at once.
    if (error.code !== ErrorCode.RATE_LIMITED) this.#reportError(error);
    const hinted = (error.detail as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const delay = typeof hinted === 'number' && hinted >= 0 ? hinted : this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryDelay * 2, MAX_RETRY_MS);
    const waitingOn = this.#connection;
    this.#waitForConnection = waitingOn;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#waitForConnection === waitingOn) this.#waitForConnection = -1;
      this.busy();
    }, delay);
    (this.#retryTimer as { unref?: () => void }).unref?.();
  }
}

export function startCollectionReplicator<C extends Collection>(options: CollectionReplicatorOptions<C>): CollectionReplicator {
  type Doc = CollectionDocs[C];
  const { collection, rxCollection, transport } = options;
  const primaryKey = primaryKeys[collection];
  const idOf = (doc: object): string => (doc as Record<string, unknown>)[primaryKey] as string;
  const gate = new StreamGate();
  const localIds = new LocalIds(rxCollection);
  const stream: StreamEvent[] = [];
  const subscriptions: Subscription[] = [];
  let checkpoint: Checkpoint | null | undefined;
  /** A checkpoint reached but not saved yet (saved on close; lost only with a crash). */
  let unsaved: Checkpoint | undefined;
  let online = false;
  let pullNeeded = true;

  /**
   * Stores `join(local, incoming)` for each document; `clear` names the epochs a push sent, whose
   * marks are cleared if still the same. Retries the documents a concurrent write overtook (409).
   * `owned`: the incoming documents are the caller's to give away (a pulled page's, parsed for it).
   */
  async function store(incoming: readonly Doc[], clear?: ReadonlyMap<string, number>, context = REPLICATION_CONTEXT, owned = false): Promise<void> {
    const newest = newestStamp(incoming);
    if (newest !== NO_STAMP) options.clock.receive(newest);
    let pending = new Map<string, Doc>();
    for (const doc of incoming) {
      const seen = pending.get(idOf(doc));
      pending.set(idOf(doc), seen === undefined ? doc : options.merge(seen, doc));
    }
    // A pulled page on a fresh device is read only where the collection may hold something.
    let absent = owned ? await localIds.absent([...pending.keys()]) : NO_IDS;
    while (pending.size > 0) {
      const reads = absent.size === 0 ? [...pending.keys()] : [...pending.keys()].filter((id) => !absent.has(id));
      absent = NO_IDS;
      const found = reads.length === 0 ? [] : await rxCollection.storageInstance.findDocumentsById(reads, true);
      const stored = new Map<string, Stored<Doc>>();
      for (const data of found) stored.set(idOf(data), data as Stored<Doc>);
      const rows: { previous?: RxDocumentData<Doc>; document: RxDocumentData<Doc> }[] = [];
      for (const [id, doc] of pending) {
        const previous = stored.get(id);
        const epoch = previous === undefined ? 0 : epochOf(previous);
        const dirty = clear !== undefined && clear.get(id) === epoch ? 0 : epoch;
        const local = previous === undefined ? undefined : documentOf<Doc>(previous);
        const joined = local === undefined ? doc : options.merge(local, doc);
        if (local !== undefined && dirty === epoch && jsonEqual(joined, local)) continue;
        const meta: RowMeta = { dirty, _attachments: {}, _meta: previous?._meta ?? { lwt: 0 }, _rev: previous?._rev ?? '' };
        // A pulled page's documents are parsed for this call alone: one becomes its row as it is.
        const document = joined === doc && owned ? toRowInPlace(doc, meta) : ({ ...joined, ...meta } as unknown as RxDocumentData<Doc>);
        rows.push(previous === undefined ? { document } : { previous, document });
      }
      if (rows.length === 0) return;
      const inserts = rows.filter((row) => row.previous === undefined);
      const updates = inserts.length === rows.length ? [] : rows.filter((row) => row.previous !== undefined);
      const insertContext = context === REPLICATION_CONTEXT ? REPLICATION_INSERT_CONTEXT : context;
      const [inserted, updated] = await Promise.all([
        inserts.length === 0 ? NO_ERRORS : rxCollection.storageInstance.bulkWrite(inserts, insertContext),
        updates.length === 0 ? NO_ERRORS : rxCollection.storageInstance.bulkWrite(updates, context),
      ]);
      // Only a pulled page's count check needs them before their events come.
      if (owned) localIds.stored(rows.map((row) => idOf(row.document)));
      const retry = new Map<string, Doc>();
      for (const error of [...inserted.error, ...updated.error]) {
        if (error.status !== 409) {
          throw new ConvSyncError(ErrorCode.INTERNAL, `storing a replicated document failed (${error.status})`, { detail: { id: error.documentId } });
        }
        // As sent: a row written in place carries the meta, which the next join must not see.
        retry.set(error.documentId, documentOf<Doc>(pending.get(error.documentId) as RxDocumentData<Doc>));
      }
      pending = retry;
    }
  }

  /** Moves the checkpoint; `persist` false keeps it in memory only (a long pull's pages between saves). */
  async function advance(to: Checkpoint, persist = true): Promise<void> {
    checkpoint = to;
    unsaved = persist ? undefined : to;
    if (persist) await options.checkpoints.save(to);
    options.onAdvanced?.(to);
  }

  /** Pulls from the checkpoint to the head of the log; the next page travels while one is stored. */
  async function pull(): Promise<void> {
    const request = (at: Checkpoint | null) =>
      transport.request('sync:pull', { collection, checkpoint: at, batchSize: Limits.MAX_PULL_BATCH });
    try {
      let first: ReturnType<typeof request> | undefined;
      if ((checkpoint ?? null) === null) {
        // The ids are loaded while the first page travels; its store then reads nothing that is
        // surely absent (a fresh replica: nothing at all).
        const tracked = localIds.track();
        tracked.catch(() => undefined);
        await options.beforeFirstPull?.(async (docs) => {
          // The first-sync page is here: the log's first page travels while it is stored (asked
          // for no sooner, so that it never delays the first-sync page's answer).
          first = request(null);
          first.catch(() => undefined);
          await tracked;
          await store(docs, undefined, REPLICATION_CONTEXT, true);
        });
        await tracked;
      }
      let next = first ?? request(checkpoint ?? null);
      let stored = 0;
      for (;;) {
        const page = await next;
        if (page.hasMore) {
          next = request(page.checkpoint);
          next.catch(() => undefined);
        }
        await store(page.documents as Doc[], undefined, REPLICATION_CONTEXT, true);
        // Saved every CHECKPOINT_EVERY_DOCUMENTS and at the head: a crash pulls at most those again
        // (the join makes that harmless), and a fresh sync does not pay a write per page.
        stored += page.documents.length;
        const persist = !page.hasMore || stored >= CHECKPOINT_EVERY_DOCUMENTS;
        if (persist) stored = 0;
        await advance(page.checkpoint, persist);
        gate.pulled(page.checkpoint);
        if (!page.hasMore) return options.onPulled?.(page.checkpoint);
      }
    } finally {
      localIds.stop();
    }
  }

  /** Down: the pull a connect or a gap asked for, else the next stream event; false when neither. */
  async function down(): Promise<boolean> {
    if (checkpoint === undefined) checkpoint = await options.checkpoints.load();
    if (pullNeeded) {
      pullNeeded = false;
      try {
        await pull();
      } catch (error) {
        pullNeeded = true;
        throw error;
      }
      return true;
    }
    const event = stream.shift();
    if (event === undefined) return false;
    const decision = gate.decide<object>(event);
    if (decision.kind === 'resync') pullNeeded = true;
    else if (decision.kind === 'forward') {
      await store(decision.documents as Doc[]);
      await advance(decision.checkpoint);
    }
    return true;
  }

  /** Up: pushes one batch of dirty documents; false when nothing is dirty. */
  async function up(): Promise<boolean> {
    const dirty = options.marks === undefined
      ? await findDirty(rxCollection, PUSH_BATCH_SIZE)
      : await findMarked(rxCollection, options.marks, PUSH_BATCH_SIZE);
    if (dirty.length === 0) return false;
    const rows = dirty.map((stored) => ({ newDocumentState: documentOf<Doc>(stored) }));
    const epochs = new Map(dirty.map((stored) => [idOf(stored), epochOf(stored)]));
    for (const chunk of chunkByBytes(rows, Limits.MAX_PUSH_BYTES)) {
      const answer = await transport.request('sync:push', { collection, rows: chunk } as never);
      // The server answers the rows whose merged state differs from what was sent; the others it
      // stored as sent.
      const results = new Map<string, Doc>(chunk.map((row) => [idOf(row.newDocumentState as object), row.newDocumentState]));
      for (const doc of answer.conflicts as Doc[]) results.set(idOf(doc), doc);
      await store([...results.values()], epochs);
    }
    return true;
  }

  const downLoop = new Loop(down, options.reportError);
  const upLoop = new Loop(up, options.reportError);
  subscriptions.push(transport.stream$.subscribe((event) => {
    if (event.collection !== collection || !online) return;
    stream.push(event);
    // The join makes it harmless; the gate still judges the event after the pull, as always.
    if (options.storeEarly?.(event.checkpoint) === true) store(event.documents as Doc[], undefined, EARLY_STREAM_CONTEXT).catch(options.reportError);
    downLoop.busy();
  }));
  // A local edit (this tab's or, with a shared replica, another's) arrives as a change event. The
  // bulk stream, not `rxCollection.$`, which leaks (docs/ARCHITECTURE.md "Rules the code keeps").
  subscriptions.push(rxCollection.eventBulks$.subscribe((bulk: RxChangeEventBulk<Doc>) => {
    if (bulk.events.some((event) => epochOf(event.documentData) > 0)) upLoop.busy();
  }));
  const idle$ = combineLatest([downLoop.idle$, upLoop.idle$]).pipe(map(([d, u]) => d && u), distinctUntilChanged());

  return {
    idle$,
    connected() {
      online = true;
      pullNeeded = true;
      downLoop.online(true);
      upLoop.online(true);
    },
    disconnected() {
      online = false;
      stream.length = 0;
      gate.reset();
      downLoop.online(false);
      upLoop.online(false);
    },
    async cancel() {
      online = false;
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.all([downLoop.close(), upLoop.close()]);
      if (unsaved !== undefined) await options.checkpoints.save(unsaved);
    },
  };
}
