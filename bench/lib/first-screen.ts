/**
 * The first screen of a fresh device (docs/ARCHITECTURE.md "First sync"): the top rows of the list
 * and the total unread, as the app shows them. Shared by Node and the browser page (no Node
 * imports): what a screen is, the expected screen computed from the server's documents alone
 * (pinned first, then newest — the protocol's `conversationRank`, not the engine), and the watch
 * that times a fresh engine until its screen is right and until its sync is complete.
 */
import { Subject, firstValueFrom, filter, timeout, type Subscription } from 'rxjs';
import { conversationRank, type ConversationDoc } from '@convsync/protocol';
import type { BenchEngine } from './convsync.js';
import type { BenchDatabase } from './rx-schema.js';

/** The rows a phone shows at once, with room to scroll. */
export const SCREEN_ROWS = 50;

/** What a row shows that the order and the badge depend on. */
export interface ScreenRow {
  conversationId: string;
  stickTop: boolean;
  sortOrder: number;
  unreadCount: number;
}

/** What the first screen must show: the top rows, the total unread, and how many conversations there are. */
export interface ExpectedScreen {
  rows: ScreenRow[];
  totalUnread: number;
  conversations: number;
}

export function screenRow(row: ScreenRow): ScreenRow {
  return { conversationId: row.conversationId, stickTop: row.stickTop, sortOrder: row.sortOrder, unreadCount: row.unreadCount };
}

/** The expected screen from the documents a server serves, ordered by the protocol's list key. */
export function expectedScreen(docs: readonly ConversationDoc[]): ExpectedScreen {
  const visible = docs.filter((doc) => !doc._deleted);
  const ranked = visible
    .map((doc) => ({ doc, rank: conversationRank(doc.stickTop, doc.sortOrder) }))
    .sort((a, b) => a.rank - b.rank || (a.doc.conversationId < b.doc.conversationId ? -1 : 1));
  return {
    rows: ranked.slice(0, SCREEN_ROWS).map(({ doc }) => screenRow(doc)),
    totalUnread: visible.reduce((sum, doc) => sum + doc.unreadCount, 0),
    conversations: visible.length,
  };
}

export function sameRows(shown: readonly ScreenRow[], expected: readonly ScreenRow[]): boolean {
  if (shown.length < expected.length) return false;
  return expected.every((row, i) => {
    const other = shown[i];
    return other !== undefined && other.conversationId === row.conversationId && other.stickTop === row.stickTop &&
      other.sortOrder === row.sortOrder && other.unreadCount === row.unreadCount;
  });
}

export interface FirstScreenTimes {
  /** From `createConversationEngine` until the top rows and the total unread are both right. */
  firstScreenMs: number;
  /** From `createConversationEngine` until 'synced' with every conversation in the list (0 when not waited for). */
  fullSyncMs: number;
}

/** How long a watch runs: to the full sync (a measured run), or to the first screen (a warm-up). */
export type Until = 'synced' | 'first-screen';

/**
 * Creates a fresh engine with `create` and times it: the clock starts before the call. The screen
 * is what `conversationList$()` and `totalUnreadCount$` last emitted (each on its own
 * subscription, as a UI holds them: combineLatest would hold the first back until the other
 * emitted). After the full sync, `getConversationList(0, 50)` must show the same rows — the screen
 * an app pages from — or the run fails. `until: 'first-screen'` closes the engine at the first
 * screen (a warm-up that leaves next to nothing in the storage).
 */
export async function timeFirstScreen(
  create: () => Promise<BenchEngine>,
  expected: ExpectedScreen,
  clock: () => number,
  timeoutMs: number,
  until: Until = 'synced',
): Promise<FirstScreenTimes> {
  const start = clock();
  const engine = await create();
  const subscriptions: Subscription[] = [];
  try {
    const service = engine.conversationService;
    let rowsRight = false;
    let totalRight = false;
    let listed = 0;
    let state = '';
    let firstScreenAt = 0;
    let fullSyncAt = 0;
    const changed = new Subject<void>();
    const check = (): void => {
      const at = clock();
      if (firstScreenAt === 0 && rowsRight && totalRight) firstScreenAt = at;
      if (fullSyncAt === 0 && state === 'synced' && totalRight && listed === expected.conversations) fullSyncAt = at;
      changed.next();
    };
    const done = firstValueFrom(changed.pipe(
      filter(() => (until === 'synced' ? fullSyncAt !== 0 : firstScreenAt !== 0)),
      timeout({ first: timeoutMs, with: () => { throw new Error(`timed out after ${timeoutMs} ms: ${until === 'synced' ? 'full sync' : 'first screen'} of ${expected.conversations} conversations (listed ${listed}, ${state})`); } }),
    ));
    // One subscription each, as a UI holds them (combineLatest would hold the first back until the
    // other emitted); no second list subscription, so the engine does the work of one screen.
    subscriptions.push(
      service.conversationList$().subscribe((list) => {
        listed = list.length;
        rowsRight = sameRows(list.slice(0, SCREEN_ROWS) as ScreenRow[], expected.rows);
        check();
      }),
      service.totalUnreadCount$.subscribe((total) => {
        totalRight = total === expected.totalUnread;
        check();
      }),
      engine.syncState$.subscribe((next) => {
        state = next;
        check();
      }),
    );
    await done;
    if (until === 'first-screen') return { firstScreenMs: firstScreenAt - start, fullSyncMs: 0 };
    if (firstScreenAt === 0) throw new Error('synced, but the screen never showed the expected rows and total');
    const page = await service.getConversationList(0, SCREEN_ROWS) as { conversationList: ScreenRow[] };
    if (!sameRows(page.conversationList, expected.rows)) throw new Error('after the sync, getConversationList(0, 50) differs from the expected top rows');
    return { firstScreenMs: firstScreenAt - start, fullSyncMs: fullSyncAt - start };
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await engine.close();
  }
}

/**
 * The peer's screen once its replication is done (read untimed, to prove the peer's figure is of
 * the same screen): its rows in the protocol's list order and its total unread. Read by primary
 * key (`ids`: every conversation the server holds): a whole-collection query walks an index cursor
 * one record at a time, which on fake-indexeddb is quadratic (minutes at 10k).
 */
export async function peerScreen(database: BenchDatabase, ids: readonly string[]): Promise<ExpectedScreen> {
  const found = await database.conversations.findByIds([...ids]).exec();
  return expectedScreen([...found.values()].map((doc) => ({ ...doc.toJSON(), _deleted: false }) as ConversationDoc));
}

/** Why `shown` is not `expected`, or null when it is. */
export function screenDiff(shown: ExpectedScreen, expected: ExpectedScreen): string | null {
  if (shown.conversations !== expected.conversations) return `${shown.conversations} conversations, expected ${expected.conversations}`;
  if (shown.totalUnread !== expected.totalUnread) return `total unread ${shown.totalUnread}, expected ${expected.totalUnread}`;
  if (!sameRows(shown.rows, expected.rows)) return 'the top rows differ';
  return null;
}
