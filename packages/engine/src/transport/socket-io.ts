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
import { io, type Socket } from 'socket.io-client';
import { ConvSyncError, ErrorCode, PROTOCOL_VERSION, isErrorCode } from '@convsync/protocol';
import { checkProtocolVersion, closedError, decodeAnswer, encodeRequest } from './answers.js';
import { defaultRetryDelay } from './backoff.js';
import { ConnectionLifecycle } from './lifecycle.js';
import { TokenWaitCancelled, type TokenSource } from './token-source.js';
import type { ClientEventName, RequestOf, ResponseOf, Transport } from './transport.js';

export interface SocketIoTransportOptions {
  /** Server URLs; an attempt that fails moves on to the next. At least one. */
  urls: readonly string[];
  token: string;
  /** Where each session's token comes from (a provider: asked for every session); overrides `token`. */
  tokens?: TokenSource;
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

export class SocketIoTransport extends ConnectionLifecycle implements Transport {
  readonly #options: SocketIoTransportOptions;
  readonly #timeoutMs: number;
  #socket: Socket | undefined;
  #urlIndex = 0;
  /** A 302 was already met with a fresh token once since the last session went online. */
  #refusedAgain = false;

  constructor(options: SocketIoTransportOptions) {
    if (options.urls.length === 0) throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'at least one server url is needed');
    super({
      report: (error) => options.onError?.(error),
      retryDelayMs: (attempt) => (options.retryDelayMs ?? defaultRetryDelay)(attempt),
    });
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  override async request<E extends ClientEventName>(event: E, payload: RequestOf<E>, options: { timeoutMs?: number } = {}): Promise<ResponseOf<E>> {
    return this.holdOff.run(() => this.#send(this.requireOnline(this.#socket), event, payload, options.timeoutMs ?? this.#timeoutMs));
  }

  async #send<E extends ClientEventName>(socket: Socket, event: E, payload: RequestOf<E>, timeoutMs: number): Promise<ResponseOf<E>> {
    let raw: unknown;
    try {
      raw = await (socket.timeout(timeoutMs) as unknown as EmitWithAck).emitWithAck(event, encodeRequest(event, payload));
    } catch (error) {
      if (this.closed) throw closedError();
      if (!socket.connected) throw new ConvSyncError(ErrorCode.OFFLINE, 'the connection was lost', { cause: error });
      throw new ConvSyncError(ErrorCode.TIMEOUT, `no answer to ${event} within ${timeoutMs} ms`, { cause: error });
    }
    return decodeAnswer(event, raw);
  }

  protected override open(generation: number): void {
    const tokens = this.#options.tokens;
    if (tokens === undefined) {
      this.#openSocket(generation, this.#options.token);
      return;
    }
    tokens.get(() => this.isCurrent(generation)).then(
      (token) => {
        if (this.isCurrent(generation)) this.#openSocket(generation, token);
      },
      (error: unknown) => {
        if (!(error instanceof TokenWaitCancelled) && this.isCurrent(generation)) this.lost(ConvSyncError.from(error, ErrorCode.AUTH_FAILED));
      },
    );
  }

  /** A 302 from the handshake: a renewable token gets one more try with a fresh token. */
  protected override retriesRefusal(error: ConvSyncError): boolean {
    if (error.code !== ErrorCode.AUTH_FAILED || this.#options.tokens?.renewable !== true || this.#refusedAgain) return false;
    if (error.detail['reason'] === 'token-provider') return false;
    this.#refusedAgain = true;
    return true;
  }

  #openSocket(generation: number, token: string): void {
    const url = this.#options.urls[this.#urlIndex % this.#options.urls.length] as string;
    const socket = io(url, {
      autoConnect: false,
      reconnection: false,
      forceNew: true,
      transports: ['websocket'],
      timeout: this.#timeoutMs,
      auth: { token, protocolVersion: PROTOCOL_VERSION, deviceId: this.#options.deviceId },
    });
    this.#socket = socket;
    const current = (): boolean => this.isCurrent(generation);
    socket.on('connect', () => {
      if (current()) void this.#startSession(socket, generation);
    });
    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      if (!current()) return;
      const data = error.data as { code?: unknown; desc?: unknown; detail?: unknown } | undefined;
      const detail = typeof data?.detail === 'object' && data.detail !== null ? { detail: data.detail as Record<string, unknown> } : {};
      const refused = isErrorCode(data?.code)
        ? new ConvSyncError(data.code, typeof data.desc === 'string' ? data.desc : error.message, detail)
        : new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, `cannot reach ${url}: ${error.message}`, { cause: error });
      this.lost(refused);
    });
    socket.on('disconnect', (reason) => {
      if (current()) this.lost(new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, `connection lost: ${reason}`));
    });
    socket.on('sync:stream', (raw: unknown) => {
      if (current()) this.receive(raw);
    });
    socket.on('session:move', (raw: unknown) => {
      if (current()) this.moveRequested(raw);
    });
    socket.connect();
  }

  async #startSession(socket: Socket, generation: number): Promise<void> {
    const now = this.#options.now ?? Date.now;
    const sentAt = now();
    try {
      const session = await this.#send(socket, 'session:info', {}, this.#timeoutMs);
      if (!this.isCurrent(generation)) return;
      checkProtocolVersion(session);
      this.#refusedAgain = false;
      this.goOnline(session, sentAt, now());
    } catch (error) {
      if (this.isCurrent(generation)) this.lost(ConvSyncError.from(error));
    }
  }

  protected override release(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.removeAllListeners();
      socket.disconnect();
    }
  }

  /** A failed attempt or connection moves on to the next URL (a terminal refusal does not). */
  protected override beforeRetry(): void {
    this.#urlIndex++;
  }
}
