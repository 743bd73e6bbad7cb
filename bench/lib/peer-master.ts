/**
 * The peer's server side: an RxDB memory database holding the account's documents, served by
 * RxDB's `startWebsocketServer` (lib/peer.ts runs it in the benchmark's process or in its own).
 */
import type { AddressInfo } from 'node:net';
import type { ConversationDoc } from '@convsync/protocol';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { startWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { openConversationDatabase } from './rx-schema.js';

export interface PeerMaster {
  insert(docs: readonly ConversationDoc[]): Promise<void>;
  /** Starts serving what was inserted; resolves with the server's address. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function openPeerMaster(): Promise<PeerMaster> {
  const master = await openConversationDatabase(getRxStorageMemory(), 'peermaster');
  let server: ReturnType<typeof startWebsocketServer> | undefined;
  return {
    async insert(docs) {
      for (let i = 0; i < docs.length; i += 5000) {
        const result = await master.conversations.bulkInsert(docs.slice(i, i + 5000));
        if (result.error.length > 0) throw new Error(`peer master bulkInsert: ${result.error.length} errors`);
      }
    },
    async listen() {
      if (server !== undefined) throw new Error('the peer already listens');
      const started = startWebsocketServer({ database: master.db, port: 0, host: '127.0.0.1' });
      server = started;
      await new Promise<void>((resolve, reject) => {
        started.server.once('listening', resolve);
        started.server.once('error', reject);
      });
      const { port } = started.server.address() as AddressInfo;
      return `ws://127.0.0.1:${port}`;
    },
    async close() {
      await server?.close();
      await master.db.close();
    },
  };
}
