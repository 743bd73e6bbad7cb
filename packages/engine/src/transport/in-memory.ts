/**
 * The in-memory transport: the same requests, answers and stream as the socket.io transport, over
 * a `SessionEndpoint` (the server's `connectInProcess`), so replication and services are tested
 * against the real server logic with no network in between. `disconnect()` closes the session,
 * `connect()` opens a new one; an endpoint that answers 192004 (the server ended the session) is a
 * lost connection, reopened after a backoff — as a socket would be.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable } from 'rxjs';
import {
  ConvSyncError,
  ErrorCode,
  PROTOCOL_VERSION,
  type SessionEndpoint,
  type StreamEvent,
} from '@convsync/protocol';
import { clockOffset, closedError, decodeAnswer, encodeRequest, isTerminal, offlineError, readStreamEvent } from './answers.js';
import { defaultRetryDelay } from './backoff.js';
import type { ClientEventName, ConnectionState, RequestOf, ResponseOf, Transport } from './transport.js';

export interface InMemoryTransportOptions {
  /** Opens a session, e.g. `() => server.connectInProcess(token, {deviceId})`. */
  open: () => Promise<SessionEndpoint>;
  /** Delay before reopen attempt n (1-based); default 200 ms doubling to 5 s, with jitter. */
  retryDelayMs?: (attempt: number) => number;
  /** A fixed reopen delay (ms), shorthand for `retryDelayMs: () => retryMs`. */
  retryMs?: number;
  onError?: (error: unknown) => void;
  /** Device clock, for the `session:info` round trip. */
  now?: () => number;
}

/** JSON round trip: what a wire would do, so nothing is shared with the server's objects. */
function wire(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

export class InMemoryTransport implements Transport {
  readonly #state = new BehaviorSubject<ConnectionState>({ status: 'offline', reason: 'not-started' });
  readonly #stream = new Subject<StreamEvent>();
  readonly #options: InMemoryTransportOptions;
  #endpoint: SessionEndpoint | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Bumps whenever the current session is abandoned: late answers of older ones are ignored. */
  #generation = 0;
  #attempt = 0;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  readonly state$: Observable<ConnectionState> = this.#state.pipe(distinctUntilChanged());
  readonly stream$: Observable<StreamEvent> = this.#stream.asObservable();

  constructor(options: InMemoryTransportOptions) {
    this.#options = options;
  }

  get state(): ConnectionState {
    return this.#state.value;
  }

  connect(): void {
    if (this.#closed) return;
    const status = this.#state.value.status;
    if (status === 'online' || status === 'connecting') return;
    this.#attempt = 0;
    void this.#open();
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

  async request<E extends ClientEventName>(event: E, payload: RequestOf<E>): Promise<ResponseOf<E>> {
    if (this.#closed) throw closedError();
    const endpoint = this.#endpoint;
    if (endpoint === undefined || this.#state.value.status !== 'online') throw offlineError();
    const generation = this.#generation;
    const raw = wire(await endpoint.request(event, wire(encodeRequest(event, payload))));
    try {
      return decodeAnswer(event, raw);
    } catch (error) {
      if (error instanceof ConvSyncError && error.code === ErrorCode.OFFLINE && generation === this.#generation && !this.#closed) {
        this.#lost(error);
      }
      throw error;
    }
  }

  #abandon(): void {
    this.#generation++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#endpoint?.close();
    this.#endpoint = undefined;
  }

  async #open(): Promise<void> {
    this.#abandon();
    const generation = this.#generation;
    const now = this.#options.now ?? Date.now;
    this.#state.next({ status: 'connecting', attempt: ++this.#attempt });
    let endpoint: SessionEndpoint | undefined;
    try {
      endpoint = await this.#options.open();
      if (generation !== this.#generation || this.#closed) {
        endpoint.close();
        return;
      }
      const sentAt = now();
      const session = decodeAnswer('session:info', wire(await endpoint.request('session:info', {})));
      if (generation !== this.#generation || this.#closed) {
        endpoint.close();
        return;
      }
      if (session.protocolVersion !== PROTOCOL_VERSION) {
        throw new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, `the server speaks protocol ${session.protocolVersion}, this client ${PROTOCOL_VERSION}`);
      }
      this.#endpoint = endpoint;
      this.#unsubscribe = endpoint.onStream((raw: unknown) => {
        if (generation !== this.#generation) return;
        const event = readStreamEvent(wire(raw));
        if (event !== null) this.#stream.next(event);
        else this.#options.onError?.(new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, 'malformed stream event dropped'));
      });
      this.#attempt = 0;
      this.#state.next({ status: 'online', session, clockOffsetMs: clockOffset(session, sentAt, now()) });
    } catch (thrown) {
      if (generation !== this.#generation || this.#closed) {
        endpoint?.close();
        return;
      }
      endpoint?.close();
      this.#lost(ConvSyncError.from(thrown, ErrorCode.SERVER_UNREACHABLE));
    }
  }

  #lost(error: ConvSyncError): void {
    this.#abandon();
    if (isTerminal(error)) {
      this.#state.next({ status: 'failed', error });
      return;
    }
    this.#options.onError?.(error);
    const attempt = this.#attempt + 1;
    this.#state.next({ status: 'connecting', attempt });
    const generation = this.#generation;
    this.#retry = setTimeout(() => {
      if (generation === this.#generation && !this.#closed) void this.#open();
    }, this.#delay(attempt));
  }

  #delay(attempt: number): number {
    const fixed = this.#options.retryMs;
    if (fixed !== undefined) return fixed;
    return (this.#options.retryDelayMs ?? defaultRetryDelay)(attempt);
  }
}
