/**
 * The device side of the floor (lib/floor.ts): pages of raw documents over socket.io, the next one
 * asked for while the last one is inserted with a plain `bulkInsert`. No Node imports, so the
 * browser page bundles it too.
 */
import type { ConversationDoc } from '@convsync/protocol';
import type { RxStorage } from 'rxdb';
import { io } from 'socket.io-client';
import { openConversationDatabase, type BenchDatabase } from './rx-schema.js';

export interface FloorPage {
  docs: ConversationDoc[];
  more: boolean;
}

/** A fresh device takes every document from the floor server; resolves with the database once all are stored. */
export async function floorSync(url: string, storage: RxStorage<unknown, unknown>): Promise<BenchDatabase> {
  const database = await openConversationDatabase(storage, 'floor');
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  try {
    const fetchPage = (index: number): Promise<FloorPage> =>
      socket.timeout(30_000).emitWithAck('page', index) as Promise<FloorPage>;
    let index = 0;
    let next = fetchPage(0);
    for (;;) {
      const page = await next;
      if (page.more) next = fetchPage(++index);
      if (page.docs.length > 0) {
        const result = await database.conversations.bulkInsert(page.docs);
        if (result.error.length > 0) throw new Error(`floor bulkInsert: ${result.error.length} errors`);
      }
      if (!page.more) return database;
    }
  } finally {
    socket.close();
  }
}
