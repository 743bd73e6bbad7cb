/**
 * Master states RxDB's downstream may have ignored, handed back once the local write that made it
 * ignore them has been pushed.
 *
 * RxDB's downstream does not store a pulled document while the fork holds a local write it has not
 * pushed yet — "the upstream resolves it": it trusts the push's answer to be at least as new as
 * anything it ignored. Ours need not be. The server merges a push, commits, and may commit and
 * stream a newer change of the same document (a message) before the push's answer leaves; and an
 * answer that is the newest when sent is still applied by RxDB after its downstream looked. That
 * newer state was then missing on this device until the document changed on the server again
 * (issue 4: the list lacked the last message of a conversation revived by a send, seed 11).
 *
 * So, for every document with a local write in flight ("dirty"), each master state handed to RxDB
 * is kept, joined with the protocol's merge — a join-semilattice, so a join of states the server
 * had is never more than what it has now. Once RxDB has fully processed a push (the answer, the
 * conflict resolution, the assumed master) and no newer local write of the document happened
 * meanwhile, the kept state joined with the push's result is ready, unless the result already
 * holds it (the usual case: the push's own echo); the next pull hands it to RxDB again, when nothing
 * makes RxDB ignore it. A ready state absorbs every later delivery and push result of its document.
 * (That a state stored late never takes a document back is the storage's job:
 * replica/monotone-downstream.ts.)
 *
 * Recent deliveries (the last few seconds) count too: a document handed over just before a local
 * write may be looked at by RxDB's downstream only after that write.
 */
import { jsonEqual } from '@convsync/protocol';

/** Local write epochs of the documents a push carries, taken when it starts. */
export type PushEpochs = ReadonlyMap<string, number | undefined>;

export interface SkippedMastersOptions<Doc> {
  /** The protocol's merge of two states of one document (commutative, associative, idempotent). */
  merge: (a: Doc, b: Doc) => Doc;
  idOf: (doc: Doc) => string;
  /** How many recent deliveries are remembered (a pull batch or two). */
  recentLimit: number;
  /** How long a delivery counts as recent: RxDB's hand-over lag, generously (ms). */
  recentMs: number;
  now?: () => number;
}

export class SkippedMasters<Doc> {
  readonly #merge: (a: Doc, b: Doc) => Doc;
  readonly #idOf: (doc: Doc) => string;
  readonly #recentLimit: number;
  readonly #recentMs: number;
  readonly #now: () => number;
  /** Documents with a local write not yet pushed, with the epoch of their latest local write. */
  readonly #dirty = new Map<string, number>();
  /** The join of the master states delivered while a document was dirty. */
  readonly #kept = new Map<string, Doc>();
  /** Master states to hand to RxDB again. */
  readonly #ready = new Map<string, Doc>();
  /** The latest delivery of each document and when, oldest first (a Map keeps insertion order). */
  readonly #recent = new Map<string, { doc: Doc; at: number }>();
  #epoch = 0;

  constructor(options: SkippedMastersOptions<Doc>) {
    this.#merge = options.merge;
    this.#idOf = options.idOf;
    this.#recentLimit = options.recentLimit;
    this.#recentMs = options.recentMs;
    this.#now = options.now ?? Date.now;
  }

  /** Whether master states wait to be handed over again. */
  get hasReady(): boolean {
    return this.#ready.size > 0;
  }

  /** The device wrote these documents (not the replication). */
  localWrite(ids: Iterable<string>): void {
    for (const id of ids) {
      this.#dirty.set(id, ++this.#epoch);
      const recent = this.#recent.get(id);
      if (recent !== undefined && this.#now() - recent.at <= this.#recentMs) this.#keep(id, recent.doc);
    }
  }

  /** Master states handed to RxDB: a pull's documents, a stream event's. */
  delivered(docs: readonly Doc[]): void {
    for (const doc of docs) {
      const id = this.#idOf(doc);
      this.#recent.delete(id);
      this.#recent.set(id, { doc, at: this.#now() });
      if (this.#dirty.has(id)) this.#keep(id, doc);
      const ready = this.#ready.get(id);
      if (ready !== undefined) this.#ready.set(id, this.#merge(ready, doc));
    }
    for (const id of this.#recent.keys()) {
      if (this.#recent.size <= this.#recentLimit) break;
      this.#recent.delete(id);
    }
  }

  /** A push starts with these documents. */
  pushing(ids: Iterable<string>): PushEpochs {
    const epochs = new Map<string, number | undefined>();
    for (const id of ids) epochs.set(id, this.#dirty.get(id));
    return epochs;
  }

  /**
   * RxDB has processed a push: `results` holds the server's state of each pushed document (its
   * answer where it answered one, else the row as sent). Says whether something is ready.
   */
  pushed(epochs: PushEpochs, results: ReadonlyMap<string, Doc>): boolean {
    for (const [id, epoch] of epochs) {
      const result = results.get(id);
      const waiting = this.#ready.get(id);
      // A later push of the same document (a newer local write) may settle before the pull that
      // hands the ready state over: the RESYNC waits while pushes run. Without its result, the
      // ready state would take that write back once RxDB stores the push as its assumed master.
      if (waiting !== undefined && result !== undefined) this.#ready.set(id, this.#merge(waiting, result));
      const kept = this.#kept.get(id);
      if (this.#dirty.get(id) !== epoch) {
        // Written again since the push started: the next push settles it.
        if (kept !== undefined && result !== undefined) this.#keep(id, result);
        continue;
      }
      this.#dirty.delete(id);
      if (kept === undefined) continue;
      this.#kept.delete(id);
      if (result === undefined) {
        this.#ready.set(id, kept);
        continue;
      }
      // The usual case: the result holds everything delivered meanwhile (often just its own echo).
      const joined = this.#merge(result, kept);
      if (jsonEqual(joined, result)) continue;
      const ready = this.#ready.get(id);
      this.#ready.set(id, ready === undefined ? joined : this.#merge(ready, joined));
    }
    return this.#ready.size > 0;
  }

  /**
   * Hands the ready states over: joined into the documents of a pull's answer (same document) or
   * appended to them. Everything returned counts as delivered.
   */
  withReady(documents: Doc[]): Doc[] {
    if (this.#ready.size === 0) {
      this.delivered(documents);
      return documents;
    }
    const out = documents.map((doc) => {
      const id = this.#idOf(doc);
      const ready = this.#ready.get(id);
      if (ready === undefined) return doc;
      this.#ready.delete(id);
      return this.#merge(ready, doc);
    });
    for (const ready of this.#ready.values()) out.push(ready);
    this.#ready.clear();
    this.delivered(out);
    return out;
  }

  #keep(id: string, doc: Doc): void {
    const kept = this.#kept.get(id);
    this.#kept.set(id, kept === undefined ? doc : this.#merge(kept, doc));
  }
}
