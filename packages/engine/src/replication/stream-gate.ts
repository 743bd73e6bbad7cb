/**
 * The gate between the server's `sync:stream` and RxDB's `pull.stream$`. Each stream event says
 * where the collection's change log stood before its commit (`prevSeq`); the gate knows the last
 * position handed to RxDB (by a pull or a forwarded event):
 * - `prevSeq` equals it: the event continues the log — forward it and move the position;
 * - its checkpoint is at or before the position: already seen (our own pull overtook it) — drop;
 * - anything else is a gap (a lost or reordered event, a commit before our pull answered) —
 *   'RESYNC', so RxDB pulls from its checkpoint and a checkpoint never moves past a change.
 * Before the first pull of a connection the position is unknown, so every event resyncs.
 */
import type { Checkpoint, StreamEvent } from '@convsync/protocol';

export type GateDecision<TDoc> =
  | { kind: 'forward'; documents: TDoc[]; checkpoint: Checkpoint }
  | { kind: 'drop' }
  | { kind: 'resync' };

export class StreamGate {
  #seq: number | undefined;

  /** The last position handed to RxDB, if known. */
  get seq(): number | undefined {
    return this.#seq;
  }

  /** A pull answered up to `checkpoint`. */
  pulled(checkpoint: Checkpoint): void {
    this.#seq = this.#seq === undefined ? checkpoint.seq : Math.max(this.#seq, checkpoint.seq);
  }

  /** The connection was lost: what arrives next is judged after a fresh pull. */
  reset(): void {
    this.#seq = undefined;
  }

  decide<TDoc>(event: Pick<StreamEvent, 'prevSeq' | 'checkpoint'> & { documents: TDoc[] }): GateDecision<TDoc> {
    const seq = this.#seq;
    if (seq !== undefined && event.prevSeq === seq) {
      this.#seq = event.checkpoint.seq;
      return { kind: 'forward', documents: event.documents, checkpoint: event.checkpoint };
    }
    if (seq !== undefined && event.checkpoint.seq <= seq) return { kind: 'drop' };
    return { kind: 'resync' };
  }
}
