/**
 * Which tab of a browser profile talks to the server (docs/ARCHITECTURE.md "Tabs"): the one that
 * holds the replica's lock. In browsers the lock is a Web Lock, so the browser hands it to the next
 * waiting tab the moment the leader's tab closes or crashes. Without the Web Locks API (Node 20)
 * the tabs are engines of one JavaScript realm (the only way a replica is shared there), and an
 * in-realm lock queue stands in for it.
 *
 * Why a lock and not broadcast-channel's message election: a lock cannot elect two leaders, and
 * closing a candidate leaves nothing behind. The library's election kept a queued round running
 * after its channel closed, whose post then failed as an unhandled rejection (seed 1556076935 of
 * the tabs soak, docs/RELIABILITY.md).
 */
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { inRealmLocks, type TabLocks } from './realm-locks.js';

export interface Leadership {
  /** false until this tab is elected, then true until it closes. */
  readonly leading$: Observable<boolean>;
  readonly leading: boolean;
  /** Gives leadership up for good (the next tab takes over). */
  close(): Promise<void>;
}

export interface LeadershipOptions {
  /** The replica's name: the tabs of one replica compete for one lock. */
  name: string;
  onError: (error: unknown) => void;
}

function webLocks(): TabLocks | undefined {
  const locks = (globalThis as { navigator?: { locks?: TabLocks } }).navigator?.locks;
  return typeof locks?.request === 'function' ? locks : undefined;
}

export function electLeader(options: LeadershipOptions): Leadership {
  const locks = webLocks() ?? inRealmLocks;
  const leading$ = new BehaviorSubject(false);
  const abort = new AbortController();
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let closed = false;
  // The lock is held for as long as `held` is pending: until close().
  const request = locks.request(`convsync-tabs:${options.name}`, { signal: abort.signal }, () => {
    if (!closed) leading$.next(true);
    return held;
  });
  request.catch((error: unknown) => {
    // An abort is close() withdrawing the candidacy; anything else is the lock manager failing.
    if (!closed) options.onError(error);
  });
  return {
    leading$: leading$.pipe(distinctUntilChanged()),
    get leading() {
      return leading$.getValue();
    },
    async close() {
      if (closed) return;
      closed = true;
      leading$.next(false);
      leading$.complete();
      abort.abort();
      release();
      // Resolves once the lock is released (or the request withdrawn): the next tab may lead.
      await request.catch(() => undefined);
    },
  };
}
