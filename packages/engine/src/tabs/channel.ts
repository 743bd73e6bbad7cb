/**
 * The message channel between the tabs of one browser profile: one broadcast-channel
 * `BroadcastChannel` per engine (native BroadcastChannel in browsers and in Node, where other
 * engines of the same process stand in for tabs), named after the replica. Every inbound message
 * is parsed (tab-messages.ts).
 */
import { BroadcastChannel, type BroadcastChannelOptions } from 'broadcast-channel';
import { Subject, type Observable } from 'rxjs';
import { readTabMessage, type TabMessage } from './tab-messages.js';

export interface TabChannel {
  /** Messages of the other tabs (never this tab's own), already validated. */
  readonly messages$: Observable<TabMessage>;
  post(message: TabMessage): void;
  close(): Promise<void>;
}

function channelOptions(): BroadcastChannelOptions {
  // Node has a native BroadcastChannel too (it reaches other instances in the same process and in
  // workers): faster than the library's file-system method, which it would pick there otherwise.
  return typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel === 'function' ? { type: 'native' } : {};
}

export function openTabChannel(options: { name: string; onError: (error: unknown) => void }): TabChannel {
  const channel = new BroadcastChannel<unknown>(`convsync-tabs:${options.name}`, channelOptions());
  const messages$ = new Subject<TabMessage>();
  channel.addEventListener('message', (raw: unknown) => {
    const message = readTabMessage(raw);
    if (message !== null) messages$.next(message);
  });
  return {
    messages$: messages$.asObservable(),
    post(message) {
      if (channel.isClosed) return;
      channel.postMessage(message).catch(options.onError);
    },
    async close() {
      messages$.complete();
      if (!channel.isClosed) await channel.close();
    },
  };
}
