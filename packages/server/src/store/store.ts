/**
 * The server's storage seam: everything the sync and message domains persist goes through this
 * interface, so a backend is one file (SQLite now, PostgreSQL later) plus one run of the
 * conformance suite (`conformance.ts`).
 *
 * Design notes:
 * - Every call is async and happens inside `transaction` (read-write) or `read` (a consistent
 *   snapshot). A backend may serialise transactions (SQLite has one writer anyway) or run them
 *   concurrently (PostgreSQL), so domain code never assumes either.
 * - The change log: each (owner, collection) has a counter; `advanceSeqs` takes the next positions
 *   from it inside the writing transaction. The counter row serialises one owner's writers, so
 *   commit order is seq order per owner, and a reader that resumes after seq N can never miss a
 *   row that commits late (DESIGN "Checkpoints").
 * - Documents travel as JSON text: the backend stores it and hands it back unparsed, so a pull can
 *   measure and forward pages without re-serialising.
 * - Batch methods take arrays: a team message touches a thousand owners, and a backend with
 *   network round trips (PostgreSQL) must be able to do that in a few statements.
 */

/** One document row: its owner, collection, id, change-log position and JSON text. */
export interface StoredDoc {
  owner: string;
  collection: string;
  id: string;
  seq: number;
  json: string;
}

/** A document to write. `target` is an optional lookup key (e.g. `1|bob`: P2P chats with bob). */
export interface DocWrite {
  owner: string;
  id: string;
  seq: number;
  json: string;
  target?: string | null;
  /** A conversation's place in the list and in the unread totals; absent: neither. */
  list?: ListFacts;
}

/**
 * What a conversation adds to the list order and the unread totals (docs/ARCHITECTURE.md "First
 * sync"). The store keeps them beside the document, so the first-sync page is an index range and a
 * rewrite can take the old document's share out of the totals.
 */
export interface ListFacts {
  /** The list position (ascending: pinned first, then newest); null when not in the list (deleted). */
  rank: number | null;
  /** Its unread count as the totals count it (0 when deleted). */
  unread: number;
  type: number;
  mute: boolean;
  groupIds: readonly string[];
}

/**
 * One cell of an owner's unread totals: the unread of its conversations of `type` and mute state,
 * all of them (`groupId` null) or those in one group. Any unread filter (types, a group, ignore
 * muted) is a sum of cells, and the total is the sum of the `groupId: null` cells.
 */
export interface UnreadCell {
  type: number;
  muted: boolean;
  groupId: string | null;
  unread: number;
}

export interface DocKey {
  owner: string;
  id: string;
}

/** The outcome of taking `count` positions from one owner's log: positions `prev+1 … last`. */
export interface SeqRange {
  owner: string;
  prev: number;
  last: number;
}

/** A stored message: the canonical conversation key, ids, time and the message JSON. */
export interface StoredMessage {
  conversationKey: string;
  messageServerId: string;
  senderId: string;
  clientMessageId: string;
  createTime: number;
  json: string;
}

export interface MessageQuery {
  conversationKey: string;
  /** Only messages strictly newer than this (ms). */
  after: number;
  /** Only messages strictly older than this (ms); absent: up to the newest. */
  before?: number;
  /** Newest first, at most this many. */
  limit: number;
}

export interface UnreadQuery {
  conversationKey: string;
  /** Messages strictly newer than this count. */
  after: number;
  /** Messages from this account never count (one's own messages are never unread). */
  reader: string;
}

export interface UserRecord {
  accountId: string;
  name: string;
  avatar: string;
}

export interface TeamRecord {
  teamId: string;
  name: string;
  superTeam: boolean;
}

export interface PullQuery {
  owner: string;
  collection: string;
  afterSeq: number;
  limit: number;
  /**
   * A page's byte budget: the read stops after the row whose JSON takes the running total past
   * it, so a caller that keeps the rows within the budget still sees whether more follow — without
   * reading (and shipping) `limit` rows to use a few hundred.
   */
  maxBytes?: number;
}

/** What a read-only snapshot offers. */
export interface StoreReader {
  /**
   * Rows of (owner, collection) with `seq > afterSeq`, by seq, at most `limit`; with `maxBytes`,
   * no further than the row that takes the total UTF-8 size of the rows' JSON past it.
   */
  pullDocs(query: PullQuery): Promise<StoredDoc[]>;
  /** The documents at `keys`, in the same order (`undefined` where absent). */
  getDocs(collection: string, keys: readonly DocKey[]): Promise<(StoredDoc | undefined)[]>;
  /** Every document of `collection` whose lookup key is `target`, whoever owns it. */
  findDocsByTarget(collection: string, target: string): Promise<StoredDoc[]>;
  /** The owner's conversations whose `groupIds` contain `groupId`. */
  findConversationsInGroup(owner: string, groupId: string): Promise<StoredDoc[]>;
  /** The current log position of (owner, collection); 0 when nothing was written. */
  currentSeq(owner: string, collection: string): Promise<number>;
  /**
   * The owner's top `limit` conversations in list order (rank, then id), from the rank index:
   * the cost does not grow with the account. Only documents written with a non-null `list.rank`.
   */
  rankPage(owner: string, limit: number): Promise<StoredDoc[]>;
  /** The owner's unread totals, cells with a non-zero count only. */
  unreadTotals(owner: string): Promise<UnreadCell[]>;

  findMessageByClientId(senderId: string, clientMessageId: string): Promise<StoredMessage | undefined>;
  listMessages(query: MessageQuery): Promise<StoredMessage[]>;
  countUnread(query: UnreadQuery): Promise<number>;

  getUsers(accountIds: readonly string[]): Promise<UserRecord[]>;
  getTeam(teamId: string): Promise<TeamRecord | undefined>;
  getTeamMembers(teamId: string): Promise<string[]>;
  isTeamMember(teamId: string, accountId: string): Promise<boolean>;
}

/** What a read-write transaction offers on top of reads. */
export interface StoreTx extends StoreReader {
  /**
   * Serialises this transaction with every other writer of those owners' logs for `collection`,
   * until it ends. Call it before reading documents the transaction will rewrite, so a concurrent
   * writer's commit can never be overwritten by a merge computed from a stale read. Owners are
   * locked in sorted order; lock `conversations` before `conversationGroups`. (A backend whose
   * transactions are already serial, like SQLite, may make this a no-op.)
   */
  lockLogs(collection: string, owners: readonly string[]): Promise<void>;
  /**
   * Takes the next positions of each owner's log for `collection` (`count` each), in the order
   * given. Locks the owners' counters until the transaction ends.
   */
  advanceSeqs(collection: string, requests: readonly { owner: string; count: number }[]): Promise<SeqRange[]>;
  /** Inserts or replaces documents (a rewritten document moves to its new seq). */
  putDocs(collection: string, docs: readonly DocWrite[]): Promise<void>;
  /**
   * The next sort order of each owner (repeats allowed, applied in order): `max(now, last + 1)`,
   * so an owner's sort orders are unique and increasing.
   */
  nextSortOrders(owners: readonly string[], now: number): Promise<number[]>;

  /** The next message time of a conversation: `max(now, last + 1)`, under its lock. */
  nextMessageTime(conversationKey: string, now: number): Promise<number>;
  insertMessage(message: StoredMessage): Promise<void>;

  upsertUser(user: { accountId: string; name?: string; avatar?: string }): Promise<UserRecord>;
  /** Creates or replaces a team and its member list. */
  putTeam(team: TeamRecord & { memberIds: readonly string[] }): Promise<void>;

  /** Runs `hook` right after this transaction commits (in commit order); never after a rollback. */
  afterCommit(hook: () => void): void;
}

export interface Store {
  /** Runs `fn` in one read-write transaction: committed when it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Runs `fn` on a consistent read-only snapshot. */
  read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T>;
  /**
   * A cheap round trip to the backend (`SELECT 1`), for readiness: resolves while it answers.
   * Rejects once closed.
   */
  ping(): Promise<void>;
  /** Waits for running transactions, then releases the backend. Later calls reject. */
  close(): Promise<void>;
}

/** Why a backend reran a transaction: all are transient, and the rerun is safe. */
export type StoreRetryReason = 'deadlock' | 'serialization' | 'duplicate_send' | 'busy';

/** Hooks a backend calls so the server can count what happens below the domain (metrics). */
export interface StoreObserver {
  /** A transaction is about to be rerun. */
  onRetry?(reason: StoreRetryReason): void;
}
