/**
 * The connection lifecycle every transport shares, so each transport file keeps only what is its
 * own (a socket and its URLs, or an in-process endpoint).
 *
 * Design note. A transport holds at most one session at a time. Every step that lets go of it —
 * `disconnect()`, `close()`, a new attempt, a loss — bumps a generation counter first; whatever a
 * session does later (a late answer, a stream event, an event of a closed socket) carries the
 * generation it was opened under and is ignored once that is no longer current. A loss that
 * retrying can fix schedules the next attempt after a backoff and says `connecting` meanwhile;
 * a refusal that it cannot fix (302, 192003) is `failed` until `connect()` is called again.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable } from 'rxjs';
import {
  ConvSyncError,
  ErrorCode,
  type SessionInfoResponse,
  type StreamEvent,
} from '@convsync/protocol';
import { clockOffset, closedError, isTerminal, offlineError, readStreamEvent } from './answers.js';
import { HoldOff } from './hold-off.js';
import { moveDelay, readMove } from './move.js';
import type { ClientEventName, ConnectionState, RequestOf, ResponseOf, Transport } from './transport.js';

/** What the lifecycle needs from its transport's options; read on each use, as the options are. */
export interface LifecycleOptions {
  /** Background trouble, never thrown: a failed attempt that will be retried, a malformed stream event. */
  report: (error: unknown) => void;
  /** Delay (ms) before attempt n (1-based) after a loss. */
  retryDelayMs: (attempt: number) => number;
}

export abstract class ConnectionLifecycle implements Transport {
  readonly #state = new BehaviorSubject<ConnectionState>({ status: 'offline', reason: 'not-started' });
  readonly #stream = new Subject<StreamEvent>();
  readonly #options: LifecycleOptions;
  /** Bumps whenever the current session is abandoned: late events of older sessions are ignored. */
  #generation = 0;
  #attempt = 0;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  readonly state$: Observable<ConnectionState> = this.#state.pipe(distinctUntilChanged());
  readonly stream$: Observable<StreamEvent> = this.#stream.asObservable();
  /** The server's 416 retry hints: requests and reconnects wait them out (hold-off.ts). */
  protected readonly holdOff = new HoldOff();

  constructor(options: LifecycleOptions) {
    this.#options = options;
  }

  /** The current connection state. */
  get state(): ConnectionState {
    return this.#state.value;
  }

  abstract request<E extends ClientEventName>(event: E, payload: RequestOf<E>, options?: { timeoutMs?: number }): Promise<ResponseOf<E>>;

  connect(): void {
    if (this.#closed) return;
    const status = this.#state.value.status;
    if (status === 'online' || status === 'connecting') return;
    this.#attempt = 0;
    this.#open();
  }

  disconnect(): void {
    if (this.#closed) return;
    this.#abandon();
    this.#state.next({ status: 'offline', reason: 'disconnected' });
  }

  close(): void {
    if (this.#closed) return;
    this.#abandon();
    this.#closed = true;
    this.#state.next({ status: 'offline', reason: 'closed' });
    this.#state.complete();
    this.#stream.complete();
  }

  /**
   * Starts opening a session for attempt `generation`; the state already says `connecting`. The
   * attempt ends in `goOnline` or `lost`, and only while `isCurrent(generation)`.
   */
  protected abstract open(generation: number): void;

  /** Lets go of the current session (socket, endpoint), if any; its generation is already over. */
  protected abstract release(): void;

  /** Called when a loss schedules another attempt, before the state says so. */
  protected beforeRetry(): void {
    // Nothing by default: a transport with several servers moves on to the next one here.
  }

  /** A terminal refusal this transport can still cure by retrying (a renewable token after a 302). */
  protected retriesRefusal(_error: ConvSyncError): boolean {
    return false;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /** The generation of the current session, for a caller that must know later whether it still is. */
  protected get generation(): number {
    return this.#generation;
  }

  protected isCurrent(generation: number): boolean {
    return generation === this.#generation && !this.#closed;
  }

  /** `session` (the socket, the endpoint) for a request: 192005 after close(), 192004 while not online. */
  protected requireOnline<S>(session: S | undefined): S {
    if (this.#closed) throw closedError();
    if (session === undefined || this.#state.value.status !== 'online') throw offlineError();
    return session;
  }

  /** The attempt succeeded: `session:info` was sent at `sentAt` and answered at `receivedAt`. */
  protected goOnline(session: SessionInfoResponse, sentAt: number, receivedAt: number): void {
    this.#attempt = 0;
    this.#state.next({ status: 'online', session, clockOffsetMs: clockOffset(session, sentAt, receivedAt) });
  }

  /** A raw stream event of the current session: validated and passed on, or reported and dropped. */
  protected receive(raw: unknown): void {
    const event = readStreamEvent(raw);
    if (event !== null) this.#stream.next(event);
    else this.#options.report(new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, 'malformed stream event dropped'));
  }

  /** The current attempt or session failed: terminal refusals stop, the rest retries after a backoff. */
  protected lost(error: ConvSyncError): void {
    if (isTerminal(error) && !this.retriesRefusal(error)) {
      this.#abandon();
      this.#state.next({ status: 'failed', error });
      return;
    }
    this.#options.report(error);
    this.#abandon();
    this.beforeRetry();
    const attempt = this.#attempt + 1;
    this.#state.next({ status: 'connecting', attempt });
    // A handshake refused as rate limited waits at least as long as the server asked.
    const delay = Math.max(this.#options.retryDelayMs(attempt), this.holdOff.note(error) ? this.holdOff.remainingMs : 0);
    const generation = this.#generation;
    this.#retry = setTimeout(() => {
      if (this.isCurrent(generation)) this.#open();
    }, delay);
  }

  /**
   * A raw `session:move` of the current session: the server is draining and asks this device to
   * reconnect (to the next server) in `reconnectInMs`. Not an error: nothing is reported, and the
   * session stays online until then.
   */
  protected moveRequested(raw: unknown): void {
    const move = readMove(raw);
    if (move === null) {
      this.#options.report(new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, 'malformed session:move ignored'));
      return;
    }
    const generation = this.#generation;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (!this.isCurrent(generation)) return;
      this.#abandon();
      this.beforeRetry();
      this.#attempt = 0;
      this.#open();
    }, moveDelay(move));
  }

  #open(): void {
    this.#abandon();
    const generation = this.#generation;
    this.#state.next({ status: 'connecting', attempt: ++this.#attempt });
    this.open(generation);
  }

  /** Ends the current session and cancels a scheduled attempt. */
  #abandon(): void {
    this.#generation++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.release();
  }
}
