/**
 * Which tab of a browser profile talks to the server (docs/ARCHITECTURE.md "Tabs"):
 * broadcast-channel's leader election on the tabs' channel. Where the Web Locks API exists (every
 * current browser) leadership is a lock: the browser hands it to the next waiting tab the moment
 * the leader's tab closes or crashes. Elsewhere (Node) the tabs elect over the channel; a leader
 * that closes says so, and the next one takes over after one round of the election.
 */
import { createLeaderElection, type LeaderElector } from 'broadcast-channel';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import type { TabChannel } from './channel.js';

export interface Leadership {
  /** false until this tab is elected, then true until it closes. */
  readonly leading$: Observable<boolean>;
  readonly leading: boolean;
  /** Gives leadership up for good (the next tab takes over). */
  close(): Promise<void>;
}

export interface LeadershipOptions {
  channel: TabChannel;
  /** How long an election waits for objections (ms; only without Web Locks). */
  responseTimeMs?: number;
  onError: (error: unknown) => void;
}

export function electLeader(options: LeadershipOptions): Leadership {
  const elector: LeaderElector = createLeaderElection(options.channel.broadcastChannel, {
    ...(options.responseTimeMs === undefined ? {} : { responseTime: options.responseTimeMs }),
    // A leader that crashed without saying so is noticed on the next round (no Web Locks only).
    fallbackInterval: 1000,
  });
  const leading$ = new BehaviorSubject(false);
  let closed = false;
  elector.awaitLeadership().then(
    () => {
      if (!closed) leading$.next(true);
    },
    (error: unknown) => {
      if (!closed) options.onError(error);
    },
  );
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
      await elector.die();
    },
  };
}
