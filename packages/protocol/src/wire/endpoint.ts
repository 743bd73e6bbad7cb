/**
 * A session with the server without a socket: the same handlers, the same validation and the same
 * stream as a socket.io connection, called in-process. The server offers it
 * (`server.connectInProcess(token)`) and the engine's in-memory transport speaks it, so replication
 * is unit-tested against the real server logic with no network in between.
 */
import type { Answer } from './answer.js';
import type { StreamEvent } from './stream.js';

export interface SessionEndpoint {
  /**
   * Handles one client event exactly as the socket handler would; never rejects. `event` is any
   * string, as on a socket: an unknown one is answered with 191004.
   */
  request(event: string, payload: unknown): Promise<Answer<object>>;
  /** Receives every stream event of the session's account; returns the unsubscribe. */
  onStream(listener: (event: StreamEvent) => void): () => void;
  /** Ends the session; later requests answer `{ok: false}` with code 192004. */
  close(): void;
}
