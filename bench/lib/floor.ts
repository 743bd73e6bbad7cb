/**
 * The floor of a fresh-device sync: the same documents sent raw over socket.io (pages of 2,000
 * requested one after another, the next one asked for while the last one is inserted) plus a plain
 * `bulkInsert` into the same storage. No checkpoints, no merge, no validation, no bookkeeping: what
 * moving and storing these documents costs at the least.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConversationDoc } from '@convsync/protocol';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { openConversationDatabase, type BenchDatabase, type DeviceStorage } from './rx.js';

const PAGE = 2000;

interface FloorPage {
  docs: ConversationDoc[];
  more: boolean;
}

export interface FloorServer {
  url: string;
  close(): Promise<void>;
}

export async function startFloorServer(docs: readonly ConversationDoc[]): Promise<FloorServer> {
  const pages: FloorPage[] = [];
  for (let i = 0; i < docs.length || pages.length === 0; i += PAGE) {
    pages.push({ docs: docs.slice(i, i + PAGE), more: i + PAGE < docs.length });
  }
  const http = createServer();
  const ioServer = new Server(http);
  ioServer.on('connection', (socket) => {
    socket.on('page', (index: unknown, ack: unknown) => {
      if (typeof ack === 'function') (ack as (page: FloorPage | null) => void)(typeof index === 'number' ? (pages[index] ?? null) : null);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      void ioServer.close(() => resolve());
      http.closeAllConnections();
    }),
  };
}

/** A fresh device takes every document from the floor server; resolves with the database once all are stored. */
export async function floorSync(url: string, storage: DeviceStorage): Promise<BenchDatabase> {
  const database = await openConversationDatabase(storage.storage, 'floor');
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
