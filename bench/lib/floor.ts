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
import type { FloorPage } from './floor-client.js';

const PAGE = 2000;

export { floorSync } from './floor-client.js';

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
