/**
 * The peer: RxDB's own `replication-websocket` plugin with its defaults. The server side is an
 * RxDB database (memory storage) holding the same documents, served by `startWebsocketServer`; a
 * fresh device replicates with `replicateWithWebsocketServer` until the initial replication is done.
 */
import type { AddressInfo } from 'node:net';
import type { ConversationDoc } from '@convsync/protocol';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { startWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { peerReplicate } from './peer-client.js';
import type { DeviceStorage } from './rx.js';
import { openConversationDatabase, type BenchDatabase } from './rx-schema.js';

export interface PeerServer {
  url: string;
  close(): Promise<void>;
}

export async function startPeerServer(docs: readonly ConversationDoc[]): Promise<PeerServer> {
  const master = await openConversationDatabase(getRxStorageMemory(), 'peermaster');
  for (let i = 0; i < docs.length; i += 5000) {
    const result = await master.conversations.bulkInsert(docs.slice(i, i + 5000));
    if (result.error.length > 0) throw new Error(`peer master bulkInsert: ${result.error.length} errors`);
  }
  const server = startWebsocketServer({ database: master.db, port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.server.once('listening', resolve);
    server.server.once('error', reject);
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      await server.close();
      await master.db.close();
    },
  };
}

/** A fresh device replicates from the peer server; resolves once the initial replication is done. */
export function peerSync(url: string, storage: DeviceStorage): Promise<BenchDatabase> {
  return peerReplicate(url, storage.storage);
}
