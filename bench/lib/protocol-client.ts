/**
 * A protocol-level device: a socket.io client that authenticates like the engine (token, protocol
 * version, device id) and speaks the wire of @convsync/protocol, without RxDB. Load benchmarks use
 * it for the crowd: a thousand of them fit in one process, a thousand engines would not.
 */
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '@convsync/protocol';
import { io, type Socket } from 'socket.io-client';

export type ProtocolSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connects and resolves once the handshake is accepted (rejects with the refusal otherwise). */
export function connectDevice(url: string, token: string, deviceId: string, timeoutMs = 20_000): Promise<ProtocolSocket> {
  const socket: ProtocolSocket = io(url, {
    auth: { token, protocolVersion: PROTOCOL_VERSION, deviceId },
    transports: ['websocket'],
    reconnection: false,
    timeout: timeoutMs,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}
