/**
 * The PostgreSQL store (node-postgres, a pool): the backend of several server processes.
 *
 * Design notes:
 * - Writers run concurrently in READ COMMITTED. What must be serialised is serialised by row
 *   locks held to the end of the transaction: an owner's change-log counter (`logs`, taken by
 *   `lockLogs` before documents are read and by `advanceSeqs`), an owner's sort-order row
 *   (`owners`), a conversation's message clock (`message_clocks`). Each statement of READ COMMITTED
 *   reads the latest committed data, so a read after the lock sees the previous holder's commit.
 *   Hence: one owner's commits keep `seq` order, and different owners never wait for each other.
 * - Locks on many rows are taken in one statement, in sorted order, so two transactions locking
 *   overlapping owner sets cannot deadlock on them. Should PostgreSQL still report a deadlock or a
 *   serialisation failure, the whole transaction is rerun: a transaction body only touches the
 *   store and registers commit hooks, so rerunning it is safe.
 * - A message's idempotency check and insert are not atomic under READ COMMITTED: two concurrent
 *   sends with one client id would both miss the other. The unique index refuses the second
 *   insert, and the transaction is rerun once, which then finds the first message.
 * - Batches are arrays bound to `unnest(...)`: a team message to 1,000 members is a handful of
 *   statements, not thousands.
 * - Reads run in REPEATABLE READ READ ONLY transactions: one snapshot, no locks.
 */
import pg from 'pg';
import { ConvSyncError, ErrorCode } from '@convsync/protocol';
import { isSafeSchemaName, migrate } from './postgres-schema.js';
import type {
  DocKey,
  DocWrite,
  MessageQuery,
  PullQuery,
  SeqRange,
  Store,
  StoreObserver,
  StoreReader,
  StoreRetryReason,
  StoreTx,
  StoredDoc,
  StoredMessage,
  TeamRecord,
  UnreadCell,
  UnreadQuery,
  UserRecord,
} from './store.js';
import { toDoc, toMessage, type DocRow, type MessageRow } from './rows.js';
import { SqlTx } from './sql-tx.js';
import { CellDelta, facetsText } from './unread-cells.js';

export interface PostgresStoreOptions {
  /**
   * A `postgres://` URL. A `schema` query parameter (e.g. `?schema=convsync`) puts every table in
   * that schema, created when missing; otherwise the connection's `search_path` decides. A `pool`
   * parameter (e.g. `?pool=20`) sizes the pool.
   */
  url: string;
  /**
   * Connections in the pool (default: the URL's `pool`, else 10). Writers waiting on one hot
   * account's lock each hold a connection, so size it above the expected concurrency per account.
   */
  poolSize?: number;
  /** A schema to use instead of the URL's `schema` parameter. */
  schema?: string;
  /** How many times a transaction is rerun after a deadlock or serialisation failure (default 5). */
  maxRetries?: number;
  observer?: StoreObserver;
}

/** SQLSTATEs after which rerunning the transaction is the fix. */
const RETRYABLE = new Map<string, StoreRetryReason>([['40001', 'serialization'], ['40P01', 'deadlock']]);
const UNIQUE_VIOLATION = '23505';

const INT8_OID = 20;
/** bigint columns (seq, times) come back as strings by default; ours stay below 2^53. */
const parseInt8 = (value: string): number => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};


/** Counts per distinct key, keys sorted: the lock order of every multi-row statement. */
function tally(keys: readonly string[], counts?: readonly number[]): Map<string, number> {
  const totals = new Map<string, number>();
  keys.forEach((key, i) => totals.set(key, (totals.get(key) ?? 0) + (counts?.[i] ?? 1)));
  return new Map([...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sqlState(error: unknown): { code?: string; constraint?: string } {
  return typeof error === 'object' && error !== null ? error : {};
}

/** Splits our own URL parameters off (node-postgres would pass them on as server settings). */
function connectionOf(options: PostgresStoreOptions): {
  connectionString: string; schema: string | undefined; poolSize: number; serverOptions: string;
} {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'the PostgreSQL URL is malformed', { detail: { url: 'postgres://…' } });
  }
  const fromUrl = url.searchParams.get('schema') ?? undefined;
  const poolText = url.searchParams.get('pool');
  // The URL's own `options` would override ours wholesale (node-postgres lets the URL win): merge.
  const urlOptions = url.searchParams.get('options');
  for (const name of ['schema', 'pool', 'options']) url.searchParams.delete(name);
  const schema = options.schema ?? fromUrl;
  if (schema !== undefined && !isSafeSchemaName(schema)) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'schema must be lower-case letters, digits and underscores', { detail: { schema } });
  }
  const poolSize = options.poolSize ?? (poolText === null ? 10 : Number(poolText));
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'pool must be an integer from 1 to 1000', { detail: { pool: poolText } });
  }
  // A process that stalls inside a transaction would hold an account's lock for every process:
  // PostgreSQL ends such a session after a minute (the process then sees an error and retries).
  const serverOptions = ['-c idle_in_transaction_session_timeout=60000', urlOptions, schema === undefined ? null : `-c search_path=${schema}`]
    .filter((option) => option !== null).join(' ');
  return { connectionString: url.toString(), schema, poolSize, serverOptions };
}

/**
 * Connects, applies pending migrations (safe when several processes start at once) and returns
 * the store.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore({ url: 'postgres://127.0.0.1:5432/test?schema=convsync' });
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { connectionString, schema, poolSize, serverOptions } = connectionOf(options);
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    types,
    options: serverOptions,
  });
  // An idle client's error (server restart, network cut) surfaces on the next query; without a
  // listener it would crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migrate(client, schema);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    // A refusal of ours (a database newer than this code) says what is wrong as it is.
    if (error instanceof ConvSyncError) throw error;
    throw new ConvSyncError(ErrorCode.INTERNAL, 'PostgreSQL store could not start', {
      detail: { reason: error instanceof Error ? error.message : String(error) },
      cause: error,
    });
  }
  return new PostgresStore(pool, options.maxRetries ?? 5, options.observer ?? {});
}

const SQL = {
  pull: `SELECT owner, collection, id, seq, doc FROM docs
         WHERE owner = $1 AND collection = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
  // The rows whose predecessors' JSON adds up to at most $5 bytes: the page within the budget and
  // the row that crosses it. The running sum streams along the index scan, so the LIMIT still
  // bounds what is read.
  pullWithin: `SELECT owner, collection, id, seq, doc FROM (
           SELECT owner, collection, id, seq, doc,
                  sum(octet_length(doc)) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - octet_length(doc) AS before
           FROM docs WHERE owner = $1 AND collection = $2 AND seq > $3 ORDER BY seq LIMIT $4) page
         WHERE before <= $5 ORDER BY seq`,
  getDocs: `SELECT k.i::int AS i, d.owner, d.collection, d.id, d.seq, d.doc
            FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(owner, id, i)
            JOIN docs d ON d.owner = k.owner AND d.collection = $3 AND d.id = k.id`,
  byTarget: `SELECT owner, collection, id, seq, doc FROM docs WHERE collection = $1 AND target = $2 ORDER BY owner, id`,
  inGroup: `SELECT owner, collection, id, seq, doc FROM docs
            WHERE owner = $1 AND collection = 'conversations' AND (doc::jsonb -> 'groupIds') ? $2 ORDER BY id`,
  currentSeq: 'SELECT seq FROM logs WHERE owner = $1 AND collection = $2',
  // Inserting the counter on first use takes its lock just as the update does; `WHERE false`
  // locks an existing row without writing a new version of it.
  lockLogs: `INSERT INTO logs (owner, collection, seq) SELECT o, $2, 0 FROM unnest($1::text[]) AS o ORDER BY o
             ON CONFLICT (owner, collection) DO UPDATE SET seq = logs.seq WHERE false`,
  advance: `INSERT INTO logs (owner, collection, seq)
            SELECT o, $2, n FROM unnest($1::text[], $3::bigint[]) AS t(o, n) ORDER BY o
            ON CONFLICT (owner, collection) DO UPDATE SET seq = logs.seq + excluded.seq
            RETURNING owner, seq`,
  // One round trip: the upsert, and (for the unread totals) the rows it replaces as they were —
  // every part of a statement sees the snapshot it started with, so `old` reads them before the
  // insert. The owners' log locks, taken before any conversation is rewritten, keep them current.
  putDocs: `WITH old AS (
              SELECT d.owner, d.id, d.unread, d.unread_facets FROM unnest($2::text[], $3::text[]) AS k(owner, id)
              JOIN docs d ON d.owner = k.owner AND d.collection = $1 AND d.id = k.id WHERE $10::boolean),
            up AS (
              INSERT INTO docs (owner, collection, id, seq, target, doc, rank, unread, unread_facets)
              SELECT o, $1, i, s, t, d, r, u, f
              FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[])
                AS x(o, i, s, t, d, r, u, f)
              ON CONFLICT (owner, collection, id) DO UPDATE SET seq = excluded.seq, target = excluded.target, doc = excluded.doc,
                rank = excluded.rank, unread = excluded.unread, unread_facets = excluded.unread_facets)
            SELECT owner, id, unread, unread_facets FROM old`,
  bumpTotals: `INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread)
               SELECT o, t, m, g, n FROM unnest($1::text[], $2::int[], $3::boolean[], $4::text[], $5::bigint[]) AS x(o, t, m, g, n)
               ON CONFLICT (owner, conv_type, muted, group_id) DO UPDATE SET unread = unread_totals.unread + excluded.unread`,
  rankPage: `SELECT owner, collection, id, seq, doc FROM docs
             WHERE owner = $1 AND collection = 'conversations' AND rank IS NOT NULL ORDER BY rank, id LIMIT $2`,
  unreadTotals: `SELECT conv_type, muted, group_id, unread FROM unread_totals WHERE owner = $1 AND unread <> 0
                 ORDER BY conv_type, muted, group_id`,
  // $3 is `now`; excluded.last_sort_order is now + n - 1, so n = excluded - now + 1. A missing
  // previous value is NULL, which GREATEST ignores.
  sortOrders: `INSERT INTO owners (owner, last_sort_order)
               SELECT o, $3::bigint + n - 1 FROM unnest($1::text[], $2::bigint[]) AS t(o, n) ORDER BY o
               ON CONFLICT (owner) DO UPDATE SET last_sort_order =
                 GREATEST(excluded.last_sort_order, owners.last_sort_order + excluded.last_sort_order - $3::bigint + 1)
               RETURNING owner, last_sort_order`,
  messageTime: `INSERT INTO message_clocks (conversation_key, last_time) VALUES ($1, $2)
                ON CONFLICT (conversation_key) DO UPDATE SET last_time = GREATEST(excluded.last_time, message_clocks.last_time + 1)
                RETURNING last_time`,
  insertMessage: `INSERT INTO messages (message_server_id, conversation_key, sender_id, client_message_id, create_time, message)
                  VALUES ($1, $2, $3, $4, $5, $6)`,
  messageByClientId: 'SELECT * FROM messages WHERE sender_id = $1 AND client_message_id = $2',
  listMessages: `SELECT * FROM messages WHERE conversation_key = $1 AND create_time > $2 AND create_time < $3
                 ORDER BY create_time DESC, message_server_id DESC LIMIT $4`,
  countUnread: 'SELECT count(*)::int AS n FROM messages WHERE conversation_key = $1 AND create_time > $2 AND sender_id <> $3',
  getUsers: 'SELECT account_id, name, avatar FROM users WHERE account_id = ANY($1::text[])',
  upsertUser: `INSERT INTO users (account_id, name, avatar) VALUES ($1, coalesce($2, ''), coalesce($3, ''))
               ON CONFLICT (account_id) DO UPDATE SET name = coalesce($2, users.name), avatar = coalesce($3, users.avatar)
               RETURNING account_id, name, avatar`,
  getTeam: 'SELECT team_id, name, super_team FROM teams WHERE team_id = $1',
  putTeam: `INSERT INTO teams (team_id, name, super_team) VALUES ($1, $2, $3)
            ON CONFLICT (team_id) DO UPDATE SET name = excluded.name, super_team = excluded.super_team`,
  clearMembers: 'DELETE FROM team_members WHERE team_id = $1',
  addMembers: `INSERT INTO team_members (team_id, account_id) SELECT $1, m FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING`,
  members: 'SELECT account_id FROM team_members WHERE team_id = $1 ORDER BY account_id',
  isMember: 'SELECT 1 FROM team_members WHERE team_id = $1 AND account_id = $2',
} as const;

/** The tx object handed to callbacks. */
class PostgresTx extends SqlTx implements StoreTx {
  readonly #client: pg.PoolClient;

  constructor(client: pg.PoolClient, writable: boolean) {
    super(writable);
    this.#client = client;
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[], write = false): Promise<R[]> {
    this.guard(write);
    return (await this.#client.query<R>(text, values)).rows;
  }

  async pullDocs(query: PullQuery): Promise<StoredDoc[]> {
    const args = [query.owner, query.collection, query.afterSeq, query.limit];
    const rows = query.maxBytes === undefined
      ? await this.#query<DocRow>(SQL.pull, args)
      : await this.#query<DocRow>(SQL.pullWithin, [...args, query.maxBytes]);
    return rows.map(toDoc);
  }

  async getDocs(collection: string, keys: readonly DocKey[]): Promise<(StoredDoc | undefined)[]> {
    if (keys.length === 0) return [];
    const rows = await this.#query<DocRow & { i: number }>(SQL.getDocs, [keys.map((k) => k.owner), keys.map((k) => k.id), collection]);
    const found: (StoredDoc | undefined)[] = keys.map(() => undefined);
    for (const row of rows) found[row.i - 1] = toDoc(row);
    return found;
  }

  async findDocsByTarget(collection: string, target: string): Promise<StoredDoc[]> {
    return (await this.#query<DocRow>(SQL.byTarget, [collection, target])).map(toDoc);
  }

  async findConversationsInGroup(owner: string, groupId: string): Promise<StoredDoc[]> {
    return (await this.#query<DocRow>(SQL.inGroup, [owner, groupId])).map(toDoc);
  }

  async currentSeq(owner: string, collection: string): Promise<number> {
    return (await this.#query<{ seq: number }>(SQL.currentSeq, [owner, collection]))[0]?.seq ?? 0;
  }

  async rankPage(owner: string, limit: number): Promise<StoredDoc[]> {
    return (await this.#query<DocRow>(SQL.rankPage, [owner, limit])).map(toDoc);
  }

  async unreadTotals(owner: string): Promise<UnreadCell[]> {
    const rows = await this.#query<{ conv_type: number; muted: boolean; group_id: string; unread: number }>(SQL.unreadTotals, [owner]);
    return rows.map((row) => ({ type: row.conv_type, muted: row.muted, groupId: row.group_id === '' ? null : row.group_id, unread: row.unread }));
  }

  async findMessageByClientId(senderId: string, clientMessageId: string): Promise<StoredMessage | undefined> {
    const [row] = await this.#query<MessageRow>(SQL.messageByClientId, [senderId, clientMessageId]);
    return row === undefined ? undefined : toMessage(row);
  }

  async listMessages(query: MessageQuery): Promise<StoredMessage[]> {
    const rows = await this.#query<MessageRow>(SQL.listMessages,
      [query.conversationKey, query.after, query.before ?? Number.MAX_SAFE_INTEGER, query.limit]);
    return rows.map(toMessage);
  }

  async countUnread(query: UnreadQuery): Promise<number> {
    return (await this.#query<{ n: number }>(SQL.countUnread, [query.conversationKey, query.after, query.reader]))[0]?.n ?? 0;
  }

  async getUsers(accountIds: readonly string[]): Promise<UserRecord[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.#query<{ account_id: string; name: string; avatar: string }>(SQL.getUsers, [[...accountIds]]);
    const byId = new Map(rows.map((row) => [row.account_id, { accountId: row.account_id, name: row.name, avatar: row.avatar }]));
    // In the order asked, as the SQLite store answers.
    return [...new Set(accountIds)].flatMap((id) => byId.get(id) ?? []);
  }

  async getTeam(teamId: string): Promise<TeamRecord | undefined> {
    const [row] = await this.#query<{ team_id: string; name: string; super_team: boolean }>(SQL.getTeam, [teamId]);
    return row === undefined ? undefined : { teamId: row.team_id, name: row.name, superTeam: row.super_team };
  }

  async getTeamMembers(teamId: string): Promise<string[]> {
    return (await this.#query<{ account_id: string }>(SQL.members, [teamId])).map((row) => row.account_id);
  }

  async isTeamMember(teamId: string, accountId: string): Promise<boolean> {
    return (await this.#query(SQL.isMember, [teamId, accountId])).length > 0;
  }

  async lockLogs(collection: string, owners: readonly string[]): Promise<void> {
    if (owners.length === 0) return;
    await this.#query(SQL.lockLogs, [[...tally(owners).keys()], collection], true);
  }

  async advanceSeqs(collection: string, requests: readonly { owner: string; count: number }[]): Promise<SeqRange[]> {
    if (requests.length === 0) return [];
    const totals = tally(requests.map((r) => r.owner), requests.map((r) => r.count));
    const rows = await this.#query<{ owner: string; seq: number }>(SQL.advance, [[...totals.keys()], collection, [...totals.values()]], true);
    // Each owner's block is (last - total, last]; hand it out to the requests in the order given.
    const next = new Map(rows.map((row) => [row.owner, row.seq - (totals.get(row.owner) ?? 0)]));
    return requests.map(({ owner, count }) => {
      const prev = next.get(owner);
      if (prev === undefined) throw new ConvSyncError(ErrorCode.INTERNAL, 'change log counter did not advance');
      next.set(owner, prev + count);
      return { owner, prev, last: prev + count };
    });
  }

  async putDocs(collection: string, docs: readonly DocWrite[]): Promise<void> {
    if (docs.length === 0) return;
    // One statement cannot upsert a row twice: the last write of a key wins, as sequential upserts would.
    const last = new Map(docs.map((doc) => [`${doc.owner}\u0000${doc.id}`, doc]));
    const rows = [...last.values()];
    const facets = rows.map((d) => (d.list === undefined ? null : facetsText(d.list)));
    const totals = collection === 'conversations' ? new CellDelta() : undefined;
    const old = await this.#query<{ owner: string; id: string; unread: number; unread_facets: string | null }>(SQL.putDocs, [
      collection,
      rows.map((d) => d.owner),
      rows.map((d) => d.id),
      rows.map((d) => d.seq),
      rows.map((d) => d.target ?? null),
      rows.map((d) => d.json),
      rows.map((d) => d.list?.rank ?? null),
      rows.map((d) => d.list?.unread ?? 0),
      facets,
      totals !== undefined,
    ], true);
    if (totals !== undefined) {
      for (const row of old) totals.add(row.owner, row.unread, row.unread_facets, -1);
      rows.forEach((d, i) => totals.add(d.owner, d.list?.unread ?? 0, facets[i], 1));
    }
    const changes = totals?.changes() ?? [];
    if (changes.length > 0) {
      await this.#query(SQL.bumpTotals, [
        changes.map((c) => c.key[0]),
        changes.map((c) => c.key[1]),
        changes.map((c) => c.key[2] === 1),
        changes.map((c) => c.key[3]),
        changes.map((c) => c.delta),
      ], true);
    }
  }

  async nextSortOrders(owners: readonly string[], now: number): Promise<number[]> {
    if (owners.length === 0) return [];
    const counts = tally(owners);
    const base = Math.floor(now);
    const rows = await this.#query<{ owner: string; last_sort_order: number }>(SQL.sortOrders, [[...counts.keys()], [...counts.values()], base], true);
    const next = new Map(rows.map((row) => [row.owner, row.last_sort_order - (counts.get(row.owner) ?? 1) + 1]));
    return owners.map((owner) => {
      const order = next.get(owner) ?? base;
      next.set(owner, order + 1);
      return order;
    });
  }

  async nextMessageTime(conversationKey: string, now: number): Promise<number> {
    const [row] = await this.#query<{ last_time: number }>(SQL.messageTime, [conversationKey, Math.floor(now)], true);
    return row?.last_time ?? now;
  }

  async insertMessage(message: StoredMessage): Promise<void> {
    await this.#query(SQL.insertMessage, [message.messageServerId, message.conversationKey, message.senderId,
      message.clientMessageId, message.createTime, message.json], true);
  }

  async upsertUser(user: { accountId: string; name?: string; avatar?: string }): Promise<UserRecord> {
    const [row] = await this.#query<{ account_id: string; name: string; avatar: string }>(SQL.upsertUser,
      [user.accountId, user.name ?? null, user.avatar ?? null], true);
    if (row === undefined) throw new ConvSyncError(ErrorCode.INTERNAL, 'user upsert returned nothing');
    return { accountId: row.account_id, name: row.name, avatar: row.avatar };
  }

  async putTeam(team: TeamRecord & { memberIds: readonly string[] }): Promise<void> {
    await this.#query(SQL.putTeam, [team.teamId, team.name, team.superTeam], true);
    await this.#query(SQL.clearMembers, [team.teamId], true);
    if (team.memberIds.length > 0) await this.#query(SQL.addMembers, [team.teamId, [...team.memberIds]], true);
  }
}

class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #maxRetries: number;
  readonly #observer: StoreObserver;
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(pool: pg.Pool, maxRetries: number, observer: StoreObserver) {
    this.#pool = pool;
    this.#maxRetries = maxRetries;
    this.#observer = observer;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#track(() => this.#withRetries(fn));
  }

  read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    return this.#track(() => this.#run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', false, fn));
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new ConvSyncError(ErrorCode.INTERNAL, 'the store is closed');
    await this.#pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#pool.end();
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ConvSyncError(ErrorCode.INTERNAL, 'the store is closed'));
    const running = work();
    const settled = running.then(() => undefined, () => undefined);
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return running;
  }

  async #withRetries<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#run('BEGIN', true, fn);
      } catch (error) {
        const { code, constraint } = sqlState(error);
        const retryable = code === undefined ? undefined : RETRYABLE.get(code);
        const reason = retryable !== undefined && attempt < this.#maxRetries ? retryable
          : code === UNIQUE_VIOLATION && constraint === 'messages_by_client_id' && attempt === 0 ? 'duplicate_send'
          : undefined;
        if (reason === undefined) throw error;
        this.#observer.onRetry?.(reason);
        // A little jitter, so two transactions that deadlocked do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      }
    }
  }

  async #run<T>(begin: string, writable: boolean, fn: (tx: PostgresTx) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const tx = new PostgresTx(client, writable);
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        tx.end();
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      }
      tx.end();
      try {
        await client.query('COMMIT');
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      }
      // Hooks run synchronously right after COMMIT. One owner's commits are serialised by its
      // counter row, so its hooks run in seq order; a stream event that still arrives late is
      // caught by the client's prevSeq check.
      tx.runCommitHooks();
      return result;
    } finally {
      // A connection whose ROLLBACK or COMMIT failed is in an unknown state: drop it from the pool.
      client.release(broken);
    }
  }
}
