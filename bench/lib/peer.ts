/**
 * The peer: RxDB's own `replication-websocket` plugin with its defaults. The server side is an
 * RxDB database (memory storage) holding the same documents, served by `startWebsocketServer`
 * (lib/peer-master.ts); a fresh device replicates with `replicateWithWebsocketServer` until the initial
 * replication is done.
 */
import type { ConversationDoc } from '@convsync/protocol';
import { startChild } from './ipc.js';
import { peerReplicate } from './peer-client.js';
import { openPeerMaster } from './peer-master.js';
import type { DeviceStorage } from './rx.js';
import type { BenchDatabase } from './rx-schema.js';

export interface PeerServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The peer's server. `'child'`: in its own process, as ConvSync's is in the first-screen
 * benchmark (a device measured here then shares no heap or collector with it); `'here'`: in the
 * benchmark's process, as the fresh-sync benchmark runs all three systems' servers.
 */
export async function startPeerServer(docs: readonly ConversationDoc[], where: 'child' | 'here' = 'child'): Promise<PeerServer> {
  if (where === 'here') {
    const master = await openPeerMaster();
    try {
      await master.insert(docs);
      return { url: await master.listen(), close: () => master.close() };
    } catch (error) {
      await master.close();
      throw error;
    }
  }
  const child = await startChild('./peer-child.ts', null);
  try {
    for (let i = 0; i < docs.length; i += 5000) await child.call('insert', docs.slice(i, i + 5000));
    const url = await child.call<string>('listen');
    return { url, close: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** A fresh device replicates from the peer server; resolves once the initial replication is done. */
export function peerSync(url: string, storage: DeviceStorage): Promise<BenchDatabase> {
  return peerReplicate(url, storage.storage);
}
