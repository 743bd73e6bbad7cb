/**
 * The device side of the peer (lib/peer.ts): RxDB's `replicateWithWebsocketServer` with its
 * defaults into a fresh database. No Node imports, so the browser page bundles it too.
 */
import type { RxStorage } from 'rxdb';
import { replicateWithWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { openConversationDatabase, type BenchDatabase, type StoredConversation } from './rx-schema.js';

/** A fresh device replicates from the peer server; resolves once the initial replication is done. */
export async function peerReplicate(url: string, storage: RxStorage<unknown, unknown>): Promise<BenchDatabase> {
  const database = await openConversationDatabase(storage, 'peer');
  const replication = await replicateWithWebsocketServer<StoredConversation, unknown>({
    collection: database.conversations,
    url,
    replicationIdentifier: 'bench-peer',
  });
  const errors: unknown[] = [];
  const subscription = replication.error$.subscribe((error) => errors.push(error));
  try {
    await replication.awaitInitialReplication();
    if (errors.length > 0) throw new Error(`peer replication failed: ${String(errors[0])}`);
    return database;
  } finally {
    subscription.unsubscribe();
    await replication.cancel();
  }
}
