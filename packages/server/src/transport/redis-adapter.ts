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
 *   case where no next event comes, `repairAfterOutages` sends a "nudge": an empty stream event at
 *   the log's current position (`documents: []`, `prevSeq = checkpoint.seq`) — a device behind
 *   that position pulls, a device at it does nothing. Two outages lose events:
 *   - this process's subscription was down: it missed other processes' events for its sockets.
 *     Once it is back, every local account room is nudged. Positions are read after a PING
 *     answered on the resubscribed connection, so every commit published before the subscription
 *     was back is already visible to that read.
 *   - this process's publishing connection was down: other processes missed its events (even if
 *     their subscriptions never dropped). The accounts it could not publish for are remembered,
 *     and their rooms are nudged across the cluster once publishing works again.
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
  /** Called for each publish Redis refused or could not take (counted as a metric). */
  onPublishFailed?: (error: unknown) => void;
}

export interface RedisAdapterHandle {
  /** Pass to `io.adapter(...)`. */
  readonly adapter: ReturnType<typeof createAdapter> | ReturnType<typeof createShardedAdapter>;
  readonly sharded: boolean;
  /**
   * Calls `listener` each time a connection is back after an outage (not on the first connection):
   * `'subscription'` once commits published meanwhile are visible to a store read, `'publishing'`
   * as soon as publishes can succeed again.
   */
  onRecovered(listener: (what: 'subscription' | 'publishing') => void): void;
  /** Whether a publish can be sent right now. */
  publishing(): boolean;
  /** Resolves when both connections (publishing, subscribing) answer a PING; names the one that did not. */
  ping(): Promise<void>;
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
  const onPublishFailed = options.onPublishFailed;
  if (onPublishFailed !== undefined) observePublishes(pub, onPublishFailed);
  // Before the adapter subscribes and before the 'ready' listener below: see guardSubscriptions.
  guardSubscriptions(sub, options.logger);
  const prefix = options.channelPrefix ?? 'convsync';
  const adapter = sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: prefix })
    : createAdapter(pub, sub, { key: prefix });

  const listeners: ((what: 'subscription' | 'publishing') => void)[] = [];
  const notify = (what: 'subscription' | 'publishing') => {
    for (const listener of listeners) listener(what);
  };
  let subLost = false;
  sub.on('close', () => {
    if (!subLost) options.logger?.log('warn', 'redis subscription lost: cross-process streams paused', {});
    subLost = true;
  });
  sub.on('ready', () => {
    if (!subLost) return;
    subLost = false;
    // ioredis resubscribes on 'ready'; the PING answers after those SSUBSCRIBEs did.
    sub.ping().then(() => notify('subscription'), () => undefined);
  });
  let pubLost = false;
  pub.on('close', () => {
    pubLost = true;
  });
  pub.on('ready', () => {
    if (!pubLost) return;
    pubLost = false;
    notify('publishing');
  });

  return {
    adapter,
    sharded,
    onRecovered: (listener) => listeners.push(listener),
    publishing: () => pub.status === 'ready',
    ping: async () => {
      // A connection that is not ready would queue the PING (the subscriber) or refuse it: say so at once.
      const probes = ([['publishing', pub], ['subscribing', sub]] as const).map(async ([name, client]) => {
        if (client.status !== 'ready') throw new Error(`redis ${name} connection ${client.status}`);
        await client.ping();
      });
      const failed = (await Promise.allSettled(probes)).find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/**
 * Reports every PUBLISH / SPUBLISH of `pub` that rejects (Redis away: the publishing connection
 * does not queue). The adapter sends them and lets them fail silently; the result is unchanged.
 */
function observePublishes(pub: Redis, onFailed: (error: unknown) => void): void {
  for (const name of ['publish', 'spublish'] as const) {
    const send = pub[name].bind(pub) as (...args: unknown[]) => Promise<unknown>;
    const observed = (...args: unknown[]): Promise<unknown> => send(...args).catch((error: unknown) => {
      onFailed(error);
      throw error;
    });
    Object.assign(pub, { [name]: observed });
  }
}

/**
 * The sharded adapter subscribes to an account room's channel when a socket joins the room, and
 * does not handle the command's failure: with Redis away, ioredis rejects it (MaxRetriesPerRequest)
 * and the rejection would be unhandled — a crash. Here a failed (S)SUBSCRIBE is caught, logged and
 * remembered, and sent again when the connection is back (unless the room was left meanwhile);
 * ioredis itself only resubscribes to channels whose subscription had succeeded. The retries are
 * sent on 'ready' before the outage repair's PING (same connection, in order), so the repair's
 * nudge reads positions after the channel is subscribed again.
 */
function guardSubscriptions(sub: Redis, logger: Logger | undefined): void {
  const pending = new Set<string>();
  const flat = (args: unknown[]): string[] => args.flat().filter((arg): arg is string => typeof arg === 'string');
  for (const [subscribe, unsubscribe] of [['ssubscribe', 'sunsubscribe'], ['subscribe', 'unsubscribe']] as const) {
    const send = sub[subscribe].bind(sub) as (...channels: string[]) => Promise<unknown>;
    const stop = sub[unsubscribe].bind(sub) as (...channels: string[]) => Promise<unknown>;
    const guarded = (...args: unknown[]): Promise<unknown> => {
      const channels = flat(args);
      for (const channel of channels) pending.delete(`${subscribe}:${channel}`);
      return send(...channels).catch((error: unknown) => {
        for (const channel of channels) pending.add(`${subscribe}:${channel}`);
        logger?.log('warn', 'redis subscribe failed: retried when Redis is back', { channels: channels.length, error: error instanceof Error ? error.message : String(error) });
        return 0;
      });
    };
    const guardedStop = (...args: unknown[]): Promise<unknown> => {
      const channels = flat(args);
      for (const channel of channels) pending.delete(`${subscribe}:${channel}`);
      return stop(...channels).catch(() => 0);
    };
    Object.assign(sub, { [subscribe]: guarded, [unsubscribe]: guardedStop });
  }
  sub.on('ready', () => {
    const retry = [...pending];
    pending.clear();
    for (const entry of retry) {
      const at = entry.indexOf(':');
      const command = entry.slice(0, at) as 'ssubscribe' | 'subscribe';
      void (sub[command] as (channel: string) => Promise<unknown>)(entry.slice(at + 1));
    }
  });
}

type Positions = (owners: readonly string[]) => Promise<[number, number][]>;

/** The current log positions (conversations, groups) of each owner, in chunks of one read each. */
function positionsFrom(store: Store): Positions {
  return async (owners) => {
    const all: [number, number][] = [];
    for (let start = 0; start < owners.length; start += 500) {
      const chunk = owners.slice(start, start + 500);
      all.push(...(await store.read(async (reader) => Promise.all(chunk.map(async (owner): Promise<[number, number]> => [
        await reader.currentSeq(owner, Collection.CONVERSATIONS),
        await reader.currentSeq(owner, Collection.CONVERSATION_GROUPS),
      ])))));
    }
    return all;
  };
}

/** Sends each owner's room a nudge per collection: locally only, or across the cluster. */
async function nudge(options: { io: SocketServer; positions: Positions; owners: readonly string[]; local: boolean }): Promise<void> {
  const positions = await options.positions(options.owners);
  options.owners.forEach((owner, i) => {
    const [conversations, groups] = positions[i] ?? [0, 0];
    for (const [collection, seq] of [[Collection.CONVERSATIONS, conversations], [Collection.CONVERSATION_GROUPS, groups]] as const) {
      const event = { collection, documents: [], checkpoint: { seq }, prevSeq: seq } as StreamEvent;
      const target = options.local ? options.io.local : options.io;
      target.to(accountRoom(owner)).emit(ServerEvent.STREAM, event);
    }
  });
}

/**
 * Wires the outage repair (see the design notes) onto a server whose adapter is `redis`'s: nudges
 * local rooms when the subscription returns, and the rooms of accounts whose streams could not be
 * published when publishing returns. Call after `io.adapter(redis.adapter)`.
 */
export function repairAfterOutages(options: { io: SocketServer; store: Store; redis: RedisAdapterHandle; logger: Logger }): void {
  const { io, redis, logger } = options;
  const positions = positionsFrom(options.store);
  const unpublished = new Set<string>();
  const adapter = io.of('/').adapter;
  const broadcast = adapter.broadcast.bind(adapter);
  // Remember which accounts' streams were emitted while a publish could not leave this process.
  adapter.broadcast = (packet, opts) => {
    if (!redis.publishing()) {
      for (const room of opts.rooms) if (room.startsWith(ROOM_PREFIX)) unpublished.add(room.slice(ROOM_PREFIX.length));
    }
    broadcast(packet, opts);
  };
  const failed = (error: unknown) => logger.log('warn', 'resync nudge failed', { error: String(error) });
  redis.onRecovered((what) => {
    if (what === 'subscription') {
      const owners = [...adapter.rooms.keys()].filter((room) => room.startsWith(ROOM_PREFIX)).map((room) => room.slice(ROOM_PREFIX.length));
      logger.log('info', 'redis subscription back: nudging local devices to resync', { accounts: owners.length });
      nudge({ io, positions, owners, local: true }).catch(failed);
    } else {
      const owners = [...unpublished];
      unpublished.clear();
      logger.log('info', 'redis publishing back: nudging the devices of accounts whose streams were not published', { accounts: owners.length });
      nudge({ io, positions, owners, local: false }).catch(failed);
    }
  });
}
