/**
 * A crowd of protocol-level devices in their own process (started by lib/crowd.ts): it connects
 * one socket per token, counts the stream events they receive, and disconnects them on request.
 */
import { ServerEvent } from '@convsync/protocol';
import { serveParent } from './ipc.js';
import { connectDevice, type ProtocolSocket } from './protocol-client.js';

const sockets: ProtocolSocket[] = [];
let streamEvents = 0;

async function connectAll(url: string, tokens: readonly string[], concurrency = 50): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tokens.length) {
      const i = next++;
      const socket = await connectDevice(url, tokens[i] as string, `crowd${process.pid}x${sockets.length}y${i}`);
      socket.on(ServerEvent.STREAM, () => {
        streamEvents++;
      });
      sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tokens.length) }, worker));
  return sockets.length;
}

function disconnectAll(): number {
  for (const socket of sockets.splice(0)) socket.close();
  return 0;
}

serveParent({
  connect: (url: string, tokens: string[]) => connectAll(url, tokens),
  disconnectAll,
  streamEvents: () => streamEvents,
  connected: () => sockets.filter((s) => s.connected).length,
}, () => {
  disconnectAll();
  return Promise.resolve();
});

process.send?.({ pid: process.pid });
