/**
 * Joins this engine to the other tabs of its browser profile (docs/ARCHITECTURE.md "Tabs"): the
 * tabs' channel, the leader election, the clock following every tab's stamps, and the tab-aware
 * sync (tab-sync.ts). `engine.ts` calls this instead of `startSync` when `multiInstance` is on.
 */
import type { Subscription } from 'rxjs';
import type { EngineClock } from '../clock.js';
import type { Replica } from '../replica/types.js';
import type { Sync } from '../replication/sync.js';
import type { Transport } from '../transport/transport.js';
import { openTabChannel, type TabChannel } from './channel.js';
import { electLeader, type Leadership } from './leadership.js';
import { followStamps } from './stamps.js';
import { startTabSync, type TabSync } from './tab-sync.js';

export { newTabId, tabNodeId } from './node-id.js';
export type { TabSync } from './tab-sync.js';

/** The tabs' channel and this tab's candidacy: they need only the replica's name. */
export interface Election {
  readonly channel: TabChannel;
  readonly leadership: Leadership;
  close(): Promise<void>;
}

/**
 * Joins the tabs' channel and stands for election. The engine does this before its replica is
 * open, so that a tab elected at once connects as soon as it knows its device id.
 */
export function startElection(options: { name: string; onError: (error: unknown) => void }): Election {
  const channel = openTabChannel({ name: options.name, onError: options.onError });
  const leadership = electLeader({ name: options.name, onError: options.onError });
  return {
    channel,
    leadership,
    async close() {
      await leadership.close().catch(options.onError);
      await channel.close().catch(options.onError);
    },
  };
}

export interface TabsOptions {
  tabId: string;
  election: Election;
  replica: Replica;
  clock: EngineClock;
  transport: Transport;
  startSync: () => Sync;
  autoConnect: boolean;
  requestTimeoutMs: number;
  reportError: (error: unknown) => void;
}

export interface Tabs extends TabSync {
  /** Whether this tab talks to the server now. */
  readonly leading: boolean;
}

export function startTabs(options: TabsOptions): Tabs {
  const { clock, reportError } = options;
  const { channel, leadership } = options.election;
  const stamps: Subscription = followStamps(options.replica, clock);
  const sync = startTabSync({
    tabId: options.tabId,
    channel,
    leadership,
    transport: options.transport,
    startSync: options.startSync,
    autoConnect: options.autoConnect,
    requestTimeoutMs: options.requestTimeoutMs,
    clockOffsetMs: () => clock.offsetMs,
    onClockOffset: (offsetMs) => {
      const now = Date.now();
      clock.syncWithServer(now + offsetMs, now);
    },
    reportError,
  });
  return {
    ...sync,
    get leading() {
      return leadership.leading;
    },
    async cancel() {
      stamps.unsubscribe();
      await sync.cancel();
    },
  };
}
