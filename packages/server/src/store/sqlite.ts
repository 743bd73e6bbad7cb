/**
 * The SQLite store (better-sqlite3, WAL): the zero-setup default.
 *
 * better-sqlite3 is synchronous and SQLite has one writer, so transactions are serialised by a
 * promise queue: `BEGIN IMMEDIATE`, the (async) callback, `COMMIT`. Reads queue too — they share
 * the one connection, and a read interleaved with an open transaction would see its uncommitted
 * rows. Every statement is prepared once.
 */
import Database from 'better-sqlite3';
import { ConvSyncError, ErrorCode } from '@convsync/protocol';
import type {
  DocKey,
  DocWrite,
  MessageQuery,
  PullQuery,
  SeqRange,
  Store,
  StoreObserver,
  StoreReader,
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
import { migrateSqlite, useWal } from './sqlite-schema.js';
import { CellDelta, facetsText } from './unread-cells.js';



export interface SqliteStoreOptions {
  /** A file path or `':memory:'`. */
  path: string;
  observer?: StoreObserver;
}

/** Opens (and creates when needed) a SQLite store. */
export function openSqliteStore({ path, observer }: SqliteStoreOptions): Store {
  const db = new Database(path);
  useWal(db);
  db.pragma('synchronous = NORMAL');
  // No busy wait inside SQLite: it would block the event loop while another connection (another
  // process, or another store on the same file in this one) holds the write lock — possibly one
  // that needs this very event loop to finish. A busy lock is retried asynchronously instead.
  db.pragma('busy_timeout = 0');
  try {
    migrateSqlite(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, observer ?? {});
}

function prepareStatements(db: Database.Database) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    beginRead: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    pull: db.prepare<[string, string, number, number], [string, number, string]>(
      'SELECT id, seq, doc FROM docs WHERE owner = ? AND collection = ? AND seq > ? ORDER BY seq LIMIT ?').raw(true),
    getDoc: db.prepare<[string, string, string], DocRow>(
      'SELECT owner, collection, id, seq, doc FROM docs WHERE owner = ? AND collection = ? AND id = ?'),
    byTarget: db.prepare<[string, string], DocRow>(
      'SELECT owner, collection, id, seq, doc FROM docs WHERE collection = ? AND target = ? ORDER BY owner, id'),
    inGroup: db.prepare<[string, string], DocRow>(
      `SELECT owner, collection, id, seq, doc FROM docs WHERE owner = ? AND collection = 'conversations'
       AND EXISTS (SELECT 1 FROM json_each(docs.doc, '$.groupIds') AS g WHERE g.value = ?) ORDER BY id`),
    currentSeq: db.prepare<[string, string], { seq: number }>('SELECT seq FROM logs WHERE owner = ? AND collection = ?'),
    advance: db.prepare<[string, string, number], { seq: number }>(
      `INSERT INTO logs (owner, collection, seq) VALUES (?, ?, ?)
       ON CONFLICT (owner, collection) DO UPDATE SET seq = logs.seq + excluded.seq RETURNING seq`),
    putDoc: db.prepare<[string, string, string, number, string | null, string, number | null, number, string | null]>(
      `INSERT INTO docs (owner, collection, id, seq, target, doc, rank, unread, unread_facets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (owner, collection, id) DO UPDATE SET seq = excluded.seq, target = excluded.target, doc = excluded.doc,
         rank = excluded.rank, unread = excluded.unread, unread_facets = excluded.unread_facets`),
    share: db.prepare<[string, string, string], { unread: number; unread_facets: string | null }>(
      'SELECT unread, unread_facets FROM docs WHERE owner = ? AND collection = ? AND id = ?'),
    bumpTotal: db.prepare<[string, number, number, string, number]>(
      `INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (owner, conv_type, muted, group_id) DO UPDATE SET unread = unread_totals.unread + excluded.unread`),
    rankPage: db.prepare<[string, number], [string, number, string]>(
      `SELECT id, seq, doc FROM docs WHERE owner = ? AND collection = 'conversations' AND rank IS NOT NULL
       ORDER BY rank, id LIMIT ?`).raw(true),
    unreadTotals: db.prepare<[string], { conv_type: number; muted: number; group_id: string; unread: number }>(
      `SELECT conv_type, muted, group_id, unread FROM unread_totals WHERE owner = ? AND unread <> 0
       ORDER BY conv_type, muted, group_id`),
    sortOrder: db.prepare<[string, number], { last_sort_order: number }>(
      `INSERT INTO owners (owner, last_sort_order) VALUES (?, ?)
       ON CONFLICT (owner) DO UPDATE SET last_sort_order = MAX(excluded.last_sort_order, owners.last_sort_order + 1)
       RETURNING last_sort_order`),
    messageTime: db.prepare<[string, number], { last_time: number }>(
      `INSERT INTO message_clocks (conversation_key, last_time) VALUES (?, ?)
       ON CONFLICT (conversation_key) DO UPDATE SET last_time = MAX(excluded.last_time, message_clocks.last_time + 1)
       RETURNING last_time`),
    insertMessage: db.prepare<[string, string, string, string, number, string]>(
      `INSERT INTO messages (message_server_id, conversation_key, sender_id, client_message_id, create_time, message)
       VALUES (?, ?, ?, ?, ?, ?)`),
    messageByClientId: db.prepare<[string, string], MessageRow>(
      'SELECT * FROM messages WHERE sender_id = ? AND client_message_id = ?'),
    listMessages: db.prepare<[string, number, number, number], MessageRow>(
      `SELECT * FROM messages WHERE conversation_key = ? AND create_time > ? AND create_time < ?
       ORDER BY create_time DESC, message_server_id DESC LIMIT ?`),
    countUnread: db.prepare<[string, number, string], { n: number }>(
      'SELECT count(*) AS n FROM messages WHERE conversation_key = ? AND create_time > ? AND sender_id <> ?'),
    getUser: db.prepare<[string], { account_id: string; name: string; avatar: string }>(
      'SELECT account_id, name, avatar FROM users WHERE account_id = ?'),
    upsertUser: db.prepare<[{ id: string; name: string | null; avatar: string | null }], { account_id: string; name: string; avatar: string }>(
      `INSERT INTO users (account_id, name, avatar) VALUES (@id, coalesce(@name, ''), coalesce(@avatar, ''))
       ON CONFLICT (account_id) DO UPDATE SET name = coalesce(@name, users.name), avatar = coalesce(@avatar, users.avatar)
       RETURNING account_id, name, avatar`),
    getTeam: db.prepare<[string], { team_id: string; name: string; super_team: number }>(
      'SELECT team_id, name, super_team FROM teams WHERE team_id = ?'),
    putTeam: db.prepare<[string, string, number]>(
      `INSERT INTO teams (team_id, name, super_team) VALUES (?, ?, ?)
       ON CONFLICT (team_id) DO UPDATE SET name = excluded.name, super_team = excluded.super_team`),
    clearMembers: db.prepare<[string]>('DELETE FROM team_members WHERE team_id = ?'),
    addMember: db.prepare<[string, string]>('INSERT OR IGNORE INTO team_members (team_id, account_id) VALUES (?, ?)'),
    members: db.prepare<[string], { account_id: string }>('SELECT account_id FROM team_members WHERE team_id = ? ORDER BY account_id'),
    isMember: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM team_members WHERE team_id = ? AND account_id = ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The tx object handed to callbacks. */
class SqliteTx extends SqlTx implements StoreTx {
  readonly #s: Statements;

  constructor(statements: Statements, writable: boolean) {
    super(writable);
    this.#s = statements;
  }

  #check(write = false): Statements {
    this.guard(write);
    return this.#s;
  }

  async pullDocs(query: PullQuery): Promise<StoredDoc[]> {
    const { owner, collection, maxBytes = Infinity } = query;
    const docs: StoredDoc[] = [];
    let bytes = 0;
    // Stepping the cursor stops SQLite where the budget runs out (leaving the loop resets it);
    // rows come as arrays of the columns the page needs, the bulk of a fresh sync's server work.
    for (const [id, seq, json] of this.#check().pull.iterate(owner, collection, query.afterSeq, query.limit)) {
      docs.push({ owner, collection, id, seq, json });
      if (maxBytes === Infinity) continue;
      bytes += Buffer.byteLength(json);
      if (bytes > maxBytes) break;
    }
    return docs;
  }

  async getDocs(collection: string, keys: readonly DocKey[]): Promise<(StoredDoc | undefined)[]> {
    const s = this.#check();
    return keys.map((key) => {
      const row = s.getDoc.get(key.owner, collection, key.id);
      return row === undefined ? undefined : toDoc(row);
    });
  }

  async findDocsByTarget(collection: string, target: string): Promise<StoredDoc[]> {
    return this.#check().byTarget.all(collection, target).map(toDoc);
  }

  async findConversationsInGroup(owner: string, groupId: string): Promise<StoredDoc[]> {
    return this.#check().inGroup.all(owner, groupId).map(toDoc);
  }

  async currentSeq(owner: string, collection: string): Promise<number> {
    return this.#check().currentSeq.get(owner, collection)?.seq ?? 0;
  }

  async rankPage(owner: string, limit: number): Promise<StoredDoc[]> {
    return this.#check().rankPage.all(owner, limit)
      .map(([id, seq, json]) => ({ owner, collection: 'conversations', id, seq, json }));
  }

  async unreadTotals(owner: string): Promise<UnreadCell[]> {
    return this.#check().unreadTotals.all(owner).map((row) =>
      ({ type: row.conv_type, muted: row.muted === 1, groupId: row.group_id === '' ? null : row.group_id, unread: row.unread }));
  }

  async findMessageByClientId(senderId: string, clientMessageId: string): Promise<StoredMessage | undefined> {
    const row = this.#check().messageByClientId.get(senderId, clientMessageId);
    return row === undefined ? undefined : toMessage(row);
  }

  async listMessages(query: MessageQuery): Promise<StoredMessage[]> {
    return this.#check()
      .listMessages.all(query.conversationKey, query.after, query.before ?? Number.MAX_SAFE_INTEGER, query.limit)
      .map(toMessage);
  }

  async countUnread(query: UnreadQuery): Promise<number> {
    return this.#check().countUnread.get(query.conversationKey, query.after, query.reader)?.n ?? 0;
  }

  async getUsers(accountIds: readonly string[]): Promise<UserRecord[]> {
    const s = this.#check();
    const users: UserRecord[] = [];
    for (const id of accountIds) {
      const row = s.getUser.get(id);
      if (row !== undefined) users.push({ accountId: row.account_id, name: row.name, avatar: row.avatar });
    }
    return users;
  }

  async getTeam(teamId: string): Promise<TeamRecord | undefined> {
    const row = this.#check().getTeam.get(teamId);
    return row === undefined ? undefined : { teamId: row.team_id, name: row.name, superTeam: row.super_team === 1 };
  }

  async getTeamMembers(teamId: string): Promise<string[]> {
    return this.#check().members.all(teamId).map((row) => row.account_id);
  }

  async isTeamMember(teamId: string, accountId: string): Promise<boolean> {
    return this.#check().isMember.get(teamId, accountId) !== undefined;
  }

  async lockLogs(): Promise<void> {
    // Transactions are serial here (one connection, BEGIN IMMEDIATE, a queue): nothing to lock.
    this.#check(true);
  }

  async advanceSeqs(collection: string, requests: readonly { owner: string; count: number }[]): Promise<SeqRange[]> {
    const s = this.#check(true);
    return requests.map(({ owner, count }) => {
      const last = s.advance.get(owner, collection, count)?.seq;
      if (last === undefined) throw new ConvSyncError(ErrorCode.INTERNAL, 'change log counter did not advance');
      return { owner, prev: last - count, last };
    });
  }

  async putDocs(collection: string, docs: readonly DocWrite[]): Promise<void> {
    const s = this.#check(true);
    const totals = collection === 'conversations' ? new CellDelta() : undefined;
    for (const doc of docs) {
      const facets = doc.list === undefined ? null : facetsText(doc.list);
      const unread = doc.list?.unread ?? 0;
      if (totals !== undefined) {
        const old = s.share.get(doc.owner, collection, doc.id);
        if (old !== undefined) totals.add(doc.owner, old.unread, old.unread_facets, -1);
        totals.add(doc.owner, unread, facets, 1);
      }
      s.putDoc.run(doc.owner, collection, doc.id, doc.seq, doc.target ?? null, doc.json, doc.list?.rank ?? null, unread, facets);
    }
    for (const { key, delta } of totals?.changes() ?? []) s.bumpTotal.run(...key, delta);
  }

  async nextSortOrders(owners: readonly string[], now: number): Promise<number[]> {
    const s = this.#check(true);
    return owners.map((owner) => s.sortOrder.get(owner, Math.floor(now))?.last_sort_order ?? now);
  }

  async nextMessageTime(conversationKey: string, now: number): Promise<number> {
    return this.#check(true).messageTime.get(conversationKey, Math.floor(now))?.last_time ?? now;
  }

  async insertMessage(message: StoredMessage): Promise<void> {
    this.#check(true).insertMessage.run(message.messageServerId, message.conversationKey, message.senderId,
      message.clientMessageId, message.createTime, message.json);
  }

  async upsertUser(user: { accountId: string; name?: string; avatar?: string }): Promise<UserRecord> {
    const row = this.#check(true).upsertUser.get({ id: user.accountId, name: user.name ?? null, avatar: user.avatar ?? null });
    if (row === undefined) throw new ConvSyncError(ErrorCode.INTERNAL, 'user upsert returned nothing');
    return { accountId: row.account_id, name: row.name, avatar: row.avatar };
  }

  async putTeam(team: TeamRecord & { memberIds: readonly string[] }): Promise<void> {
    const s = this.#check(true);
    s.putTeam.run(team.teamId, team.name, team.superTeam ? 1 : 0);
    s.clearMembers.run(team.teamId);
    for (const member of team.memberIds) s.addMember.run(team.teamId, member);
  }
}

/** About 10 s of retries at up to 25 ms apart. */
const MAX_BUSY_RETRIES = 500;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #observer: StoreObserver;
  readonly #ping: Database.Statement;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(db: Database.Database, observer: StoreObserver) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#observer = observer;
    this.#ping = db.prepare('SELECT 1');
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#enqueue(true, fn);
  }

  read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    return this.#enqueue(false, fn);
  }

  /** Not queued behind transactions: it asks whether the database answers, not how busy it is. */
  async ping(): Promise<void> {
    if (this.#closed) throw new ConvSyncError(ErrorCode.INTERNAL, 'the store is closed');
    this.#ping.get();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail.catch(() => undefined);
    this.#db.close();
  }

  #enqueue<T>(writable: boolean, fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ConvSyncError(ErrorCode.INTERNAL, 'the store is closed'));
    const run = this.#tail.then(() => this.#run(writable, fn));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #run<T>(writable: boolean, fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(writable, fn);
      } catch (error) {
        // Busy: another connection holds the write lock (or is recovering the WAL). Nothing was
        // committed by this attempt, so waiting and starting over is safe.
        if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error;
        this.#observer.onRetry?.('busy');
        await new Promise((resolve) => setTimeout(resolve, Math.min(25, 1 + attempt)));
      }
    }
  }

  async #attempt<T>(writable: boolean, fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    const tx = new SqliteTx(this.#s, writable);
    (writable ? this.#s.begin : this.#s.beginRead).run();
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      tx.end();
      if (this.#db.inTransaction) this.#s.rollback.run();
      throw error;
    }
    tx.end();
    try {
      this.#s.commit.run();
    } catch (error) {
      if (this.#db.inTransaction) this.#s.rollback.run();
      throw error;
    }
    // Hooks run synchronously, in commit order: the stream leaves in the order the log grew.
    tx.runCommitHooks();
    return result;
  }
}
