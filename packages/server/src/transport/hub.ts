/**
 * Where committed changes go: the socket.io room `account:<owner>` (which the Redis adapter spans
 * across processes) and the in-process sessions of that account.
 */
import { ServerEvent, type StreamEvent } from '@convsync/protocol';
import type { Server as SocketServer } from 'socket.io';

export function accountRoom(accountId: string): string {
  return `account:${accountId}`;
}

export class StreamHub {
  readonly #local = new Map<string, Set<(event: StreamEvent) => void>>();
  #io: SocketServer | undefined;

  attach(io: SocketServer): void {
    this.#io = io;
  }

  publish(owner: string, event: StreamEvent): void {
    this.#io?.to(accountRoom(owner)).emit(ServerEvent.STREAM, event);
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
