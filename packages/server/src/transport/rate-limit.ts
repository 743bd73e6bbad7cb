/** A token bucket per session: `ratePerSecond` refill, `burst` capacity. */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { ratePerSecond: 300, burst: 600 };

export class TokenBucket {
  readonly #options: RateLimitOptions;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(options: RateLimitOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#tokens = options.burst;
    this.#at = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#at) / 1000;
    this.#at = now;
    this.#tokens = Math.min(this.#options.burst, this.#tokens + elapsed * this.#options.ratePerSecond);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
