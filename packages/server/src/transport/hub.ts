/**
 * Where committed changes go: the socket.io room `account:<owner>` (which the Redis adapter spans
 * across processes) and the in-process sessions of that account.
 *
 * In one process an event for a room without a socket is not emitted: socket.io encodes a packet
 * before it finds the room empty, and most members of a large team have no device connected at
 * any moment (10 % of a team fan-out's time went there). Across processes another one may hold
 * the room's sockets, so every event goes to the adapter.
 */
import { ServerEvent, type StreamEvent } from '@convsync/protocol';
import type { Server as SocketServer } from 'socket.io';

export function accountRoom(accountId: string): string {
  return `account:${accountId}`;
}

export class StreamHub {
  readonly #local = new Map<string, Set<(event: StreamEvent) => void>>();
  #io: SocketServer | undefined;
  #spansProcesses = false;

  /** `spansProcesses`: an adapter (Redis) carries rooms to other processes. */
  attach(io: SocketServer, options: { spansProcesses: boolean }): void {
    this.#io = io;
    this.#spansProcesses = options.spansProcesses;
  }

  publish(owner: string, event: StreamEvent): void {
    const io = this.#io;
    const room = accountRoom(owner);
    if (io !== undefined && (this.#spansProcesses || (io.sockets.adapter.rooms.get(room)?.size ?? 0) > 0)) {
      io.to(room).emit(ServerEvent.STREAM, event);
    }
    for (const listener of this.#local.get(owner) ?? []) {
      try {
        listener(event);
      } catch {
        // One listener's failure must not keep the event from the others.
      }
    }
  }

  /** Subscribes an in-process session; returns the unsubscribe. */
  subscribe(owner: string, listener: (event: StreamEvent) => void): () => void {
    let set = this.#local.get(owner);
    if (set === undefined) {
      set = new Set();
      this.#local.set(owner, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#local.delete(owner);
    };
  }
}
