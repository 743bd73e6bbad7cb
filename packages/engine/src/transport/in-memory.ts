/**
 * The in-memory transport: the same requests, answers and stream as the socket.io transport, over
 * a `SessionEndpoint` (the server's `connectInProcess`), so replication and services are tested
 * against the real server logic with no network in between. `disconnect()` closes the session,
 * `connect()` opens a new one; an endpoint that answers 192004 (the server ended the session) is a
 * lost connection, reopened after a backoff — as a socket would be.
 */
import { ConvSyncError, ErrorCode, type SessionEndpoint } from '@convsync/protocol';
import { checkProtocolVersion, decodeAnswer, encodeRequest } from './answers.js';
import { defaultRetryDelay } from './backoff.js';
import { ConnectionLifecycle } from './lifecycle.js';
import type { ClientEventName, RequestOf, ResponseOf, Transport } from './transport.js';

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

export class InMemoryTransport extends ConnectionLifecycle implements Transport {
  readonly #options: InMemoryTransportOptions;
  #endpoint: SessionEndpoint | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: InMemoryTransportOptions) {
    super({
      report: (error) => options.onError?.(error),
      retryDelayMs: (attempt) => options.retryMs ?? (options.retryDelayMs ?? defaultRetryDelay)(attempt),
    });
    this.#options = options;
  }

  override async request<E extends ClientEventName>(event: E, payload: RequestOf<E>): Promise<ResponseOf<E>> {
    return this.holdOff.run(async () => {
      const endpoint = this.requireOnline(this.#endpoint);
      const generation = this.generation;
      const raw = wire(await endpoint.request(event, wire(encodeRequest(event, payload))));
      try {
        return decodeAnswer(event, raw);
      } catch (error) {
        // The server ended the session under this request: that is a lost connection.
        if (error instanceof ConvSyncError && error.code === ErrorCode.OFFLINE && this.isCurrent(generation)) this.lost(error);
        throw error;
      }
    });
  }

  protected override open(generation: number): void {
    void this.#startSession(generation);
  }

  protected override release(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#endpoint?.close();
    this.#endpoint = undefined;
  }

  async #startSession(generation: number): Promise<void> {
    const now = this.#options.now ?? Date.now;
    let endpoint: SessionEndpoint | undefined;
    try {
      endpoint = await this.#options.open();
      if (!this.isCurrent(generation)) {
        endpoint.close();
        return;
      }
      const sentAt = now();
      const session = decodeAnswer('session:info', wire(await endpoint.request('session:info', {})));
      if (!this.isCurrent(generation)) {
        endpoint.close();
        return;
      }
      checkProtocolVersion(session);
      this.#endpoint = endpoint;
      this.#unsubscribe = endpoint.onStream((raw: unknown) => {
        if (this.isCurrent(generation)) this.receive(wire(raw));
      });
      this.goOnline(session, sentAt, now());
    } catch (thrown) {
      endpoint?.close();
      if (this.isCurrent(generation)) this.lost(ConvSyncError.from(thrown, ErrorCode.SERVER_UNREACHABLE));
    }
  }
}
