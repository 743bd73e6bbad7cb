/** The parent's handle on a crowd of protocol-level devices in a child process (lib/crowd-child.ts). */
import { startChild } from './ipc.js';

export interface Crowd {
  /** Connects one device per token; resolves with how many are connected in all. */
  connect(url: string, tokens: readonly string[]): Promise<number>;
  disconnectAll(): Promise<void>;
  /** Stream events the crowd received so far (proves the fan-out reached it). */
  streamEvents(): Promise<number>;
  connected(): Promise<number>;
  close(): Promise<void>;
}

export async function startCrowd(): Promise<Crowd> {
  const child = await startChild('./crowd-child.ts', {});
  return {
    connect: (url, tokens) => child.call('connect', url, tokens),
    disconnectAll: async () => {
      await child.call('disconnectAll');
    },
    streamEvents: () => child.call('streamEvents'),
    connected: () => child.call('connected'),
    close: () => child.stop(),
  };
}
