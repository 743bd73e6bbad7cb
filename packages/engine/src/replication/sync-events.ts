/**
 * What replication tells the rest of the engine about catching up with the server. The services
 * turn these into the seed's `onSyncStarted` / `onSyncFinished` / `onSyncFailed` events, and
 * `syncState$` is the engine's public `syncState$`.
 */
import type { Observable } from 'rxjs';
import type { ConvSyncError } from '@convsync/protocol';

export type SyncState = 'offline' | 'syncing' | 'synced' | 'error';

export interface SyncEvents {
  /** Current state first (replays the latest), then every change; never emits an equal value twice. */
  readonly syncState$: Observable<SyncState>;
  /** The replica starts catching up (first connect, each reconnect). */
  readonly started$: Observable<void>;
  /** The replica has caught up: initial pull done, nothing pending to push. */
  readonly finished$: Observable<void>;
  /** Catching up failed terminally: auth refused (302), protocol mismatch (192003), … */
  readonly failed$: Observable<ConvSyncError>;
}
