/**
 * Backing off by the server's retry hint. A request the server refused as rate limited (416) was
 * not carried out, so sending it again unchanged is safe — a push is not applied twice, a message
 * not sent twice — and the caller never sees the refusal while the hint keeps it short.
 *
 * Design notes:
 * - The hold-off is the transport's, not the request's: the limit that refused is the account's or
 *   the address's, so every request of this device waits, not only the refused one.
 * - The wait is the hint plus up to a quarter of it more, so the devices of one account refused in
 *   the same window do not all come back in the same millisecond.
 * - After `maxAttempts` refusals in a row the 416 reaches the caller (the outbox, the replication),
 *   which retries on its own schedule: a server that keeps refusing never hangs a request.
 */
import { ConvSyncError, ErrorCode, retryAfterMs } from '@convsync/protocol';

/** Refusals of one request the transport absorbs before passing the 416 on. */
export const MAX_HOLD_OFF_ATTEMPTS = 6;

export interface HoldOffOptions {
  now?: () => number;
  random?: () => number;
}

export class HoldOff {
  readonly #now: () => number;
  readonly #random: () => number;
  #until = 0;

  constructor(options: HoldOffOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** How long (ms) requests still wait. */
  get remainingMs(): number {
    return Math.max(0, this.#until - this.#now());
  }

  /**
   * If `error` is a 416 with a retry hint, holds every request off by it (jittered) and returns
   * true; otherwise false (the error is not ours to absorb).
   */
  note(error: unknown): boolean {
    if (!(error instanceof ConvSyncError) || error.code !== ErrorCode.RATE_LIMITED) return false;
    const hint = retryAfterMs(error.detail);
    if (hint === undefined) return false;
    const wait = hint + Math.floor(this.#random() * hint * 0.25);
    this.#until = Math.max(this.#until, this.#now() + wait);
    return true;
  }

  /** Resolves once no hold-off is in force (at once when none is). */
  async wait(): Promise<void> {
    for (let remaining = this.remainingMs; remaining > 0; remaining = this.remainingMs) {
      await new Promise((resolve) => setTimeout(resolve, remaining));
    }
  }

  /** `send`, sent again after the hold-off each time the server refuses it with a retry hint. */
  async run<T>(send: () => Promise<T>, maxAttempts = MAX_HOLD_OFF_ATTEMPTS): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.wait();
      try {
        return await send();
      } catch (error) {
        if (attempt >= maxAttempts || !this.note(error)) throw error;
      }
    }
  }
}
