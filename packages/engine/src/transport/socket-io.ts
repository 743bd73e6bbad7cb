/**
 * The socket.io transport: one socket per device, authenticated on the handshake
 * (`{token, protocolVersion, deviceId}`). Requests use `socket.timeout(ms).emitWithAck()`, so a lost
 * reply becomes a rejection (192002) that the caller retries, never a hang.
 *
 * Reconnecting is ours, not socket.io's: each attempt opens a fresh socket on the next of `urls`
 * (several server processes behind one account), after a backoff. A refused handshake with 302
 * (token) or 192003 (protocol) is terminal until `connect()` is called again; anything else — the
 * server unreachable, a dropped socket, a `session:info` that never answers — is retried.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import {
  ConvSyncError,
  ErrorCode,
  PROTOCOL_VERSION,
  isErrorCode,
  type StreamEvent,
} from '@convsync/protocol';
import { clockOffset, closedError, decodeAnswer, encodeRequest, isTerminal, offlineError, readStreamEvent } from './answers.js';
import { defaultRetryDelay } from './backoff.js';
import type { ClientEventName, ConnectionState, RequestOf, ResponseOf, Transport } from './transport.js';

export interface SocketIoTransportOptions {
  /** Server URLs; an attempt that fails moves on to the next. At least one. */
  urls: readonly string[];
  token: string;
  deviceId: string;
  /** Request timeout (ms); default 10 s. */
  timeoutMs?: number;
  /** Delay before reconnect attempt n (1-based); default 200 ms doubling to 5 s, with jitter. */
  retryDelayMs?: (attempt: number) => number;
  /** Reports malformed stream events and failed attempts (background trouble, not thrown). */
  onError?: (error: unknown) => void;
  /** Device clock, for the `session:info` round trip. */
  now?: () => number;
}

type EmitWithAck = { emitWithAck(event: string, payload: unknown): Promise<unknown> };

export class SocketIoTransport implements Transport {
  readonly #state = new BehaviorSubject<ConnectionState>({ status: 'offline', reason: 'not-started' });
  readonly #stream = new Subject<StreamEvent>();
  readonly #options: SocketIoTransportOptions;
  readonly #timeoutMs: number;
  #socket: Socket | undefined;
  /** Bumps whenever the current socket is abandoned: events of older sockets are ignored. */
  #generation = 0;
  #attempt = 0;
  #urlIndex = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  readonly state$: Observable<ConnectionState> = this.#state.pipe(distinctUntilChanged());
  readonly stream$: Observable<StreamEvent> = this.#stream.asObservable();

  constructor(options: SocketIoTransportOptions) {
    if (options.urls.length === 0) throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'at least one server url is needed');
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The current connection state. */
  get state(): ConnectionState {
    return this.#state.value;
  }

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

  async request<E extends ClientEventName>(event: E, payload: RequestOf<E>, options: { timeoutMs?: number } = {}): Promise<ResponseOf<E>> {
    if (this.#closed) throw closedError();
    const socket = this.#socket;
    if (socket === undefined || this.#state.value.status !== 'online') throw offlineError();
    return this.#send(socket, event, payload, options.timeoutMs ?? this.#timeoutMs);
  }

  async #send<E extends ClientEventName>(socket: Socket, event: E, payload: RequestOf<E>, timeoutMs: number): Promise<ResponseOf<E>> {
    let raw: unknown;
    try {
      raw = await (socket.timeout(timeoutMs) as unknown as EmitWithAck).emitWithAck(event, encodeRequest(event, payload));
    } catch (error) {
      if (this.#closed) throw closedError();
      if (!socket.connected) throw new ConvSyncError(ErrorCode.OFFLINE, 'the connection was lost', { cause: error });
      throw new ConvSyncError(ErrorCode.TIMEOUT, `no answer to ${event} within ${timeoutMs} ms`, { cause: error });
    }
    return decodeAnswer(event, raw);
  }

  /** Closes the current socket and cancels a scheduled attempt. */
  #abandon(): void {
    this.#generation++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.removeAllListeners();
      socket.disconnect();
    }
  }

  #open(): void {
    this.#abandon();
    const generation = this.#generation;
    const url = this.#options.urls[this.#urlIndex % this.#options.urls.length] as string;
    this.#state.next({ status: 'connecting', attempt: ++this.#attempt });
    const socket = io(url, {
      autoConnect: false,
      reconnection: false,
      forceNew: true,
      transports: ['websocket'],
      timeout: this.#timeoutMs,
      auth: { token: this.#options.token, protocolVersion: PROTOCOL_VERSION, deviceId: this.#options.deviceId },
    });
    this.#socket = socket;
    const current = (): boolean => generation === this.#generation && !this.#closed;
    socket.on('connect', () => {
      if (current()) void this.#startSession(socket, generation);
    });
    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      if (!current()) return;
      const data = error.data as { code?: unknown; desc?: unknown } | undefined;
      const refused = isErrorCode(data?.code)
        ? new ConvSyncError(data.code, typeof data.desc === 'string' ? data.desc : error.message)
        : new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, `cannot reach ${url}: ${error.message}`, { cause: error });
      this.#lost(refused);
    });
    socket.on('disconnect', (reason) => {
      if (current()) this.#lost(new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, `connection lost: ${reason}`));
    });
    socket.on('sync:stream', (raw: unknown) => {
      if (!current()) return;
      const event = readStreamEvent(raw);
      if (event !== null) this.#stream.next(event);
      else this.#options.onError?.(new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, 'malformed stream event dropped'));
    });
    socket.connect();
  }

  async #startSession(socket: Socket, generation: number): Promise<void> {
    const now = this.#options.now ?? Date.now;
    const sentAt = now();
    try {
      const session = await this.#send(socket, 'session:info', {}, this.#timeoutMs);
      if (generation !== this.#generation || this.#closed) return;
      if (session.protocolVersion !== PROTOCOL_VERSION) {
        throw new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, `the server speaks protocol ${session.protocolVersion}, this client ${PROTOCOL_VERSION}`);
      }
      this.#attempt = 0;
      this.#state.next({ status: 'online', session, clockOffsetMs: clockOffset(session, sentAt, now()) });
    } catch (error) {
      if (generation === this.#generation && !this.#closed) this.#lost(ConvSyncError.from(error));
    }
  }

  /** The current attempt or connection failed: terminal refusals stop, the rest retries on the next URL. */
  #lost(error: ConvSyncError): void {
    if (isTerminal(error)) {
      this.#abandon();
      this.#state.next({ status: 'failed', error });
      return;
    }
    this.#options.onError?.(error);
    this.#abandon();
    this.#urlIndex++;
    const attempt = this.#attempt + 1;
    this.#state.next({ status: 'connecting', attempt });
    const delay = (this.#options.retryDelayMs ?? defaultRetryDelay)(attempt);
    const generation = this.#generation;
    this.#retry = setTimeout(() => {
      if (generation === this.#generation && !this.#closed) this.#open();
    }, delay);
  }
}
