/**
 * The socket.io Redis adapter: the room `account:<owner>` spans every server process, so a commit on
 * one process streams to the account's sockets on all of them.
 *
 * Design notes:
 * - Redis 7 has sharded pub/sub (SSUBSCRIBE/SPUBLISH): with the sharded adapter in its default
 *   "dynamic" mode each account room is its own channel, so a process only receives the streams of
 *   accounts it has sockets for, instead of every stream of the cluster. Older Redis gets the classic
 *   adapter. The version is asked once, at start.
 * - Delivery is best effort and correctness never depends on it: a stream event carries `prevSeq`,
 *   so a device that missed one pulls from its checkpoint at the next event it sees. To repair the
 *   case where no next event comes, the process sends each of its account rooms, after its Redis
 *   subscription is back from an outage, an empty stream event at the log's current position
 *   (`documents: []`, `prevSeq = checkpoint.seq`): a device behind that position pulls, a device at
 *   it does nothing. Those positions are read after a PING answered on the resubscribed connection,
 *   so every commit published before the subscription was back is already visible to that read.
 * - The publishing connection does not queue commands while Redis is away: socket.io delivers to
 *   local sockets only after the publish settles, so a queued publish would hold back local streams.
 */
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Collection, ServerEvent, type StreamEvent } from '@convsync/protocol';
import type { Server as SocketServer } from 'socket.io';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { accountRoom } from './hub.js';

const ROOM_PREFIX = accountRoom('');

export interface RedisAdapterOptions {
  /** e.g. `redis://127.0.0.1:6379`. */
  url: string;
  /** Prefix of the pub/sub channels (default `convsync`): processes of one cluster share it. */
  channelPrefix?: string;
  /** Force the classic (`false`) or sharded (`true`) adapter; default: sharded on Redis 7 and later. */
  sharded?: boolean;
  logger?: Logger;
}

export interface RedisAdapterHandle {
  /** Pass to `io.adapter(...)`. */
  readonly adapter: ReturnType<typeof createAdapter> | ReturnType<typeof createShardedAdapter>;
  readonly sharded: boolean;
  /**
   * Calls `listener` each time the subscription is back after an outage (not on the first
   * connection), once commits published meanwhile are visible to a store read.
   */
  onRecovered(listener: () => void): void;
  /** Closes both connections. */
  close(): Promise<void>;
}

function majorVersion(info: string): number {
  return Number(/^redis_version:(\d+)/m.exec(info)?.[1] ?? '0');
}

/** Connects the publishing and subscribing clients and builds the adapter. */
export async function openRedisAdapter(options: RedisAdapterOptions): Promise<RedisAdapterHandle> {
  const pub = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: false });
  const sub = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  // Connection errors are retried by ioredis; without listeners they would be unhandled events.
  pub.on('error', () => undefined);
  sub.on('error', () => undefined);
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (error) {
    pub.disconnect();
    sub.disconnect();
    throw error;
  }
  const sharded = options.sharded ?? majorVersion(await pub.info('server')) >= 7;
  const prefix = options.channelPrefix ?? 'convsync';
  const adapter = sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: prefix })
    : createAdapter(pub, sub, { key: prefix });

  const listeners: (() => void)[] = [];
  let lost = false;
  sub.on('close', () => {
    if (!lost) options.logger?.log('warn', 'redis subscription lost: cross-process streams paused', {});
    lost = true;
  });
  sub.on('ready', () => {
    if (!lost) return;
    lost = false;
    // ioredis resubscribes on 'ready'; the PING answers after those SSUBSCRIBEs did.
    sub.ping().then(() => {
      options.logger?.log('info', 'redis subscription back: nudging local devices to resync', {});
      for (const listener of listeners) listener();
    }, () => undefined);
  });

  return {
    adapter,
    sharded,
    onRecovered: (listener) => listeners.push(listener),
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/**
 * Sends every account room of this process an empty stream event at each collection's current log
 * position, so devices that missed events pull from their checkpoint (see the design notes).
 */
export async function nudgeLocalRooms(io: SocketServer, store: Store): Promise<number> {
  const owners = [...io.of('/').adapter.rooms.keys()]
    .filter((room) => room.startsWith(ROOM_PREFIX))
    .map((room) => room.slice(ROOM_PREFIX.length));
  const collections = [Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS] as const;
  for (let start = 0; start < owners.length; start += 500) {
    const chunk = owners.slice(start, start + 500);
    const positions = await store.read(async (reader) =>
      Promise.all(chunk.map(async (owner) => Promise.all(collections.map((c) => reader.currentSeq(owner, c))))));
    chunk.forEach((owner, i) => {
      collections.forEach((collection, j) => {
        const seq = positions[i]?.[j] ?? 0;
        const event = { collection, documents: [], checkpoint: { seq }, prevSeq: seq } as StreamEvent;
        io.local.to(accountRoom(owner)).emit(ServerEvent.STREAM, event);
      });
    });
  }
  return owners.length;
}
