/**
 * What the composition root (engine.ts) hands to services and views: the account, the replica,
 * the clock and the transport. Services never build these themselves, so tests can inject each.
 */
import type { Observable } from 'rxjs';
import type { EngineClock } from './clock.js';
import type { Replica } from './replica/types.js';
import type { Transport } from './transport/transport.js';

export interface EngineContext {
  readonly accountId: string;
  readonly replica: Replica;
  readonly clock: EngineClock;
  readonly transport: Transport;
  /** True while the transport is online (session established). */
  readonly online$: Observable<boolean>;
  /**
   * Whether this engine is the one of its replica's tabs that talks to the server (always, without
   * tabs): device-wide background writes (the unread snapshot) are the leader's.
   */
  readonly leading?: () => boolean;
  /** Reports a background failure (listener error, outbox trouble) without throwing anywhere. */
  reportError(error: unknown): void;
}
