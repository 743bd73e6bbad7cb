/**
 * Resyncs asked of RxDB, and whether a pull has answered each.
 *
 * RxDB 17.6's downstream takes every task queued at once in one batch, and a 'RESYNC' that comes
 * behind a change event in that batch is taken off the queue and dropped (replication-protocol
 * downstream.ts, `addNewTask`). Stream events wait while RxDB pushes, so a stream event and the
 * resync of a reconnect — or of a gap the next event revealed — reach the queue together when a
 * push ends. The resync was then lost: a conversation created while the device was offline
 * stayed missing until the next reconnect (engine soak seed 1262433378).
 *
 * So every resync is numbered, a pull that starts answers every resync asked before it, and a
 * resync still unanswered once RxDB has nothing left to do is asked again.
 */
export class ResyncRequests {
  #asked = 0;
  #answered = 0;

  /** A resync is asked now. */
  ask(): void {
    this.#asked++;
  }

  /** A pull starts: it reads the server from the checkpoint on, which answers every resync so far. */
  pullStarted(): void {
    this.#answered = this.#asked;
  }

  /** Whether a resync was asked that no pull has answered. */
  get unanswered(): boolean {
    return this.#answered < this.#asked;
  }
}
