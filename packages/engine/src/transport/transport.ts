/**
 * The engine reaches the network only through a Transport (docs/ARCHITECTURE.md "Packages and arrows"): a socket.io
 * implementation for real use, an in-memory one over the server's `SessionEndpoint` for unit
 * tests. Requests are typed by the protocol's event maps; answers are parsed with the protocol's
 * schemas before anything else sees them.
 */
import type { Observable } from 'rxjs';
import type {
  ClientToServerEvents,
  ConvSyncError,
  PullResponse,
  SessionInfoResponse,
  StreamEvent,
} from '@convsync/protocol';

export type ClientEventName = keyof ClientToServerEvents;
export type RequestOf<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
type AckOf<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[1];
type AnswerOf<E extends ClientEventName> = Parameters<AckOf<E>>[0];
/**
 * The success payload of an event's answer, without the `ok` flag, as the transport hands it on:
 * a pull page always with its documents as objects, whatever form it travelled in.
 */
export type ResponseOf<E extends ClientEventName> = E extends 'sync:pull'
  ? PullResponse
  : Omit<Extract<AnswerOf<E>, { ok: true }>, 'ok'>;

/** The connection as a discriminated union that carries its reason. */
export type ConnectionState =
  | { status: 'offline'; reason: 'not-started' | 'disconnected' | 'network' | 'closed' }
  | { status: 'connecting'; attempt: number }
  /** `clockOffsetMs`: server clock − device clock, measured by `session:info` (half the round trip added). */
  | { status: 'online'; session: SessionInfoResponse; clockOffsetMs: number }
  /** Terminal until `connect()` is called again: auth refused (302), protocol mismatch (192003). */
  | { status: 'failed'; error: ConvSyncError };

export interface Transport {
  /** Current state first, then every change. */
  readonly state$: Observable<ConnectionState>;
  /** Stream events of this account, already validated. */
  readonly stream$: Observable<StreamEvent>;
  /**
   * Sends one request and resolves with the validated success payload. Rejects with a
   * ConvSyncError: the server's error, 192002 on timeout, 192004 when not online.
   */
  request<E extends ClientEventName>(event: E, payload: RequestOf<E>, options?: { timeoutMs?: number }): Promise<ResponseOf<E>>;
  /** Starts (or restarts) connecting; reconnects on its own after network loss. */
  connect(): void;
  /** Stops talking to the server until `connect()`; the state becomes offline/disconnected. */
  disconnect(): void;
  /** Releases everything; the transport cannot be used again. */
  close(): void;
}
