/**
 * What the domain functions (sync, messages) share: the store, the injected clock and id source,
 * and where committed changes are published. Built once by `startServer`; tests build their own.
 */
import type { StreamEvent } from '@convsync/protocol';
import type { Store } from './store/store.js';

/** Delivers a committed change to every session of `owner` (a socket.io room, in-process listeners). */
export type StreamPublisher = (owner: string, event: StreamEvent) => void;

export interface DomainContext {
  store: Store;
  /** Server time in ms since the epoch. */
  now: () => number;
  /** A new unique message server id. */
  newMessageId: () => string;
  publish: StreamPublisher;
}
