/**
 * Where a session's token comes from. A plain string is used as it is, for every session, until
 * the server refuses it. A provider (`() => string | Promise<string>`) is asked for every new
 * session, ahead of the current token's expiry (`token-renewal.ts`), and once more after a 302.
 *
 * A provider is the app's code talking to its own backend: it may throw, reject, hang on a dead
 * network or hand back nothing. Each failure is reported (never an unhandled rejection) and the
 * provider asked again after a backoff; only a provider that fails `attempts` times in a row ends
 * the attempt with 302 (`detail.reason: 'token-provider'`), which the transport makes terminal
 * until `connect()` is called again.
 */
import { ConvSyncError, ErrorCode, invalidParameter } from '@convsync/protocol';

/** What the app passes as `token`: the token itself, or a function that fetches a fresh one. */
export type TokenProvider = () => string | Promise<string>;

/** How a failing provider is retried (the `tokenRetry` option). */
export interface TokenRetryOptions {
  /** Calls in a row before giving up (default 5). */
  attempts?: number;
  /** Wait (ms) after failed call n (1-based); default 500 ms doubling to 30 s, with jitter. */
  delayMs?: number | ((attempt: number) => number);
  /** How long one call may take before it counts as failed (ms, default 30 s). */
  timeoutMs?: number;
}

export interface TokenSourceOptions {
  token: string | TokenProvider;
  /** The engine's account; a token naming another (JWT `sub`) is refused, never used. */
  accountId: string | undefined;
  retry?: TokenRetryOptions;
  /** Each failed call of the provider (background trouble, never thrown). */
  report: (error: unknown) => void;
  /** Reads the account a token names without verifying it (`undefined`: cannot tell). */
  accountOf: (token: string) => string | undefined;
}

function defaultDelay(attempt: number): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Thrown by `get` when the caller stopped wanting the token; never reported. */
export class TokenWaitCancelled extends Error {}

/** The `tokenRetry` option, validated (191004). */
export function parseTokenRetry(value: unknown): TokenRetryOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalidParameter('tokenRetry must be an object');
  const { attempts, delayMs, timeoutMs } = value as Record<string, unknown>;
  if (attempts !== undefined && !(typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 1 && attempts <= 1000)) {
    throw invalidParameter('tokenRetry.attempts must be a whole number from 1 to 1000');
  }
  if (delayMs !== undefined && typeof delayMs !== 'function' && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw invalidParameter('tokenRetry.delayMs must be a number of ms or a function of the attempt');
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isInteger(timeoutMs) && timeoutMs >= 1)) {
    throw invalidParameter('tokenRetry.timeoutMs must be a positive whole number of ms');
  }
  return value;
}

export class TokenSource {
  readonly #options: TokenSourceOptions;
  #accountId: string | undefined;
  /** A token the provider already gave (at startup, for the account) and no session used yet. */
  #unused: string | undefined;

  constructor(options: TokenSourceOptions) {
    this.#options = options;
    this.#accountId = options.accountId;
  }

  /** Set once the account is known (from the first token, when the app did not name it). */
  set accountId(accountId: string) {
    this.#accountId = accountId;
  }

  /** True when the token can be renewed (a provider), false for a fixed string. */
  get renewable(): boolean {
    return typeof this.#options.token === 'function';
  }

  /**
   * A token for a new session or a renewal. Rejects with 302 when the provider keeps failing (or
   * a fixed string names another account), with TokenWaitCancelled once `wanted()` turns false.
   */
  async get(wanted: () => boolean = () => true): Promise<string> {
    const source = this.#options.token;
    if (typeof source === 'string') return this.#check(source);
    const unused = this.#unused;
    this.#unused = undefined;
    if (unused !== undefined) return unused;
    const attempts = this.#options.retry?.attempts ?? 5;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (!wanted()) throw new TokenWaitCancelled();
      try {
        return this.#check(await this.#call(source));
      } catch (error) {
        last = error;
        this.#options.report(ConvSyncError.from(error, ErrorCode.AUTH_FAILED));
      }
      if (attempt < attempts) await this.#wait(attempt, wanted);
    }
    throw new ConvSyncError(ErrorCode.AUTH_FAILED, `the token provider failed ${attempts} times in a row`, {
      detail: { reason: 'token-provider', attempts },
      cause: last,
    });
  }

  /** The first token, asked at startup to learn the account; the first session uses it. */
  async first(): Promise<string> {
    const token = await this.get();
    if (this.renewable) this.#unused = token;
    return token;
  }

  async #call(provider: TokenProvider): Promise<string> {
    const timeoutMs = this.#options.retry?.timeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConvSyncError(ErrorCode.TIMEOUT, `the token provider did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // Promise.resolve().then: a provider that throws synchronously is a rejection like any other.
      return await Promise.race([Promise.resolve().then(provider), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #check(token: unknown): string {
    if (typeof token !== 'string' || token.length === 0) {
      throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the token provider returned no token', { detail: { reason: 'token-provider' } });
    }
    const named = this.#options.accountOf(token);
    if (named !== undefined && this.#accountId !== undefined && named !== this.#accountId) {
      throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the token names another account than the engine', { detail: { reason: 'account' } });
    }
    return token;
  }

  #wait(attempt: number, wanted: () => boolean): Promise<void> {
    const delay = this.#options.retry?.delayMs;
    const ms = typeof delay === 'number' ? delay : (delay ?? defaultDelay)(attempt);
    return new Promise((resolve) => {
      // Checked in slices so a cancelled wait (disconnect, close) lets go within a second.
      const until = Date.now() + ms;
      const step = (): void => {
        const left = until - Date.now();
        if (left <= 0 || !wanted()) resolve();
        else setTimeout(step, Math.min(left, 1000));
      };
      step();
    });
  }
}
