/**
 * The account of the first-screen benchmark: N P2P conversations as a real account has them, made
 * through the product's own paths (the server's message ingest, and a device of the account
 * reading and pinning through the engine). What makes the first screen hard is in it:
 * - every conversation starts with one message from its peer (the log in creation order);
 * - one in 16 got 1–4 more messages (unread counts spread beyond 1);
 * - then, one after another, old conversations spread over the whole account got a new message:
 *   the newest conversations, the top of the list, are old ones, in the middle of the log;
 * - then a device of the account read three in four conversations and pinned a few old ones:
 *   reads and pins rewrite old conversations, so the end of the log is not the top of the list.
 * The plan says what the server must hold (the pinned set, the order of the newest, the total
 * unread); the seed is checked against it on every load, so a seed that is not what the method
 * describes fails the run instead of being measured.
 */
import { ConversationType, type ConversationDoc } from '@convsync/protocol';
import type { ConvSyncServer } from '@convsync/server';
import { createEngine, deviceOptions, removeReplica, untilSynced } from './convsync.js';
import { expectedScreen, SCREEN_ROWS, type ExpectedScreen } from './first-screen.js';
import type { Progress } from './progress.js';
import { freshStorage } from './rx.js';
import { ACCOUNT, cachedSeedFile, conversationOf, inParallel, peerOf, pullAll, seedConversations } from './seed.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { poll } from './time.js';

/** Part of the cache key: bump when the plan changes. */
const SEED_KEY = 'first-screen-v1';

/** What the seed of N conversations is, by conversation index. */
export interface SeedPlan {
  count: number;
  /** More messages after the first (0 for most). */
  extra(i: number): number;
  /** The conversations that got a recent message, oldest first (the last one is the newest). */
  recent: number[];
  pinned: Set<number>;
  read(i: number): boolean;
  /** The total unread the server must report. */
  totalUnread: number;
}

export function seedPlan(count: number): SeedPlan {
  const recentCount = Math.min(120, Math.floor(count / 4));
  const pinCount = Math.min(6, Math.floor(count / 50));
  // Steps coprime with the sizes (primes) spread the chosen conversations over the whole log.
  const recent: number[] = [];
  const chosen = new Set<number>();
  for (let j = 0; recent.length < recentCount; j++) {
    const i = (j * 7919 + 13) % count;
    if (!chosen.has(i)) {
      chosen.add(i);
      recent.push(i);
    }
  }
  const pinned = new Set<number>();
  for (let j = 0; pinned.size < pinCount; j++) {
    const i = (j * 104_729 + 7) % count;
    if (!chosen.has(i)) pinned.add(i);
  }
  const recentSet = new Set(recent);
  const extra = (i: number): number => (i % 16 === 5 ? 1 + (Math.floor(i / 16) % 4) : 0);
  const read = (i: number): boolean => i % 4 !== 0 && !recentSet.has(i);
  let totalUnread = 0;
  for (let i = 0; i < count; i++) if (!read(i)) totalUnread += 1 + extra(i) + (recentSet.has(i) ? 1 : 0);
  return { count, extra, recent, pinned, read, totalUnread };
}

async function seed(server: ConvSyncServer, plan: SeedPlan, progress?: Progress): Promise<void> {
  const { count } = plan;
  await seedConversations(server, { count, ...(progress === undefined ? {} : { progress }) });
  const more: number[] = [];
  for (let i = 0; i < count; i++) for (let k = 0; k < plan.extra(i); k++) more.push(i);
  const send = (i: number, text: string): Promise<unknown> => server.sendMessage({ from: peerOf(i), conversationType: ConversationType.P2P, targetId: ACCOUNT, text });
  progress?.start(`seeding ${more.length.toLocaleString('en-US')} more messages, ${plan.recent.length} recent`, 2);
  await inParallel(more.length, 32, (k) => send(more[k] as number, 'and one more thing, while you are at it'));
  progress?.tick();
  // One after another: the order of the newest conversations is the order of these calls.
  for (const i of plan.recent) await send(i, `news from ${peerOf(i)}`);
  progress?.tick();

  const storage = freshStorage('memory');
  const device = deviceOptions(server.url, await server.issueToken(ACCOUNT), storage, `seeder${process.pid}`);
  const engine = await createEngine(device);
  try {
    const recent = new Set(plan.recent);
    let unreadBefore = 0;
    for (let i = 0; i < count; i++) unreadBefore += 1 + plan.extra(i) + (recent.has(i) ? 1 : 0);
    await untilSynced(engine, unreadBefore);
    const toRead = Array.from({ length: count }, (_, i) => i).filter((i) => plan.read(i)).map(conversationOf);
    progress?.start(`seeding reads of ${toRead.length.toLocaleString('en-US')} and ${plan.pinned.size} pins`, Math.ceil(toRead.length / 100) + 1);
    for (let k = 0; k < toRead.length; k += 100) {
      const failed = await engine.conversationService.clearUnreadCountByIds(toRead.slice(k, k + 100));
      if (failed.length > 0) throw new Error(`seed: ${failed.length} reads failed`);
      progress?.tick();
    }
    for (const i of plan.pinned) await engine.conversationService.stickTopConversation(conversationOf(i), true);
    progress?.tick();
    // The device's writes are on the server once a pull shows them.
    await poll(async () => checkSeed(plan, await pullAll(server)) === null, 600_000, 'the seeding device\'s reads and pins on the server', 500);
  } finally {
    await engine.close();
    await removeReplica(device, storage);
  }
}

/** Why the server's documents are not the plan's, or null when they are. */
export function checkSeed(plan: SeedPlan, docs: readonly ConversationDoc[]): string | null {
  const screen = expectedScreen(docs);
  if (screen.conversations !== plan.count) return `${screen.conversations} conversations, planned ${plan.count}`;
  if (screen.totalUnread !== plan.totalUnread) return `total unread ${screen.totalUnread}, planned ${plan.totalUnread}`;
  const pinned = docs.filter((doc) => doc.stickTop).map((doc) => doc.conversationId).sort();
  const plannedPins = [...plan.pinned].map(conversationOf).sort();
  if (pinned.join() !== plannedPins.join()) return `pinned ${pinned.length}, planned ${plannedPins.length}`;
  // Below the pins, the screen is the newest of the recent conversations, newest first.
  const newest = [...plan.recent].reverse().filter((i) => !plan.pinned.has(i)).slice(0, SCREEN_ROWS - plannedPins.length).map(conversationOf);
  const shown = screen.rows.slice(plannedPins.length).map((row) => row.conversationId);
  if (shown.join() !== newest.slice(0, shown.length).join()) return 'the top of the list is not the newest recent conversations in the order they got their message';
  return null;
}

export interface FirstScreenSeed {
  /** The seeded server, in its own process: the devices measured here do not share its heap. */
  server: ServerProcess;
  docs: ConversationDoc[];
  expected: ExpectedScreen;
}

/** The seeded server of N conversations (cached), its documents and the screen they make. */
export async function firstScreenServer(count: number, progress?: Progress): Promise<FirstScreenSeed> {
  const plan = seedPlan(count);
  const path = await cachedSeedFile(`${SEED_KEY}-${count}`, (fresh) => seed(fresh, plan, progress));
  const server = await startServerProcess({ database: path });
  try {
    const docs = await server.pullAll();
    const wrong = checkSeed(plan, docs);
    if (wrong !== null) throw new Error(`the cached first-screen seed of ${count} is not the plan (${wrong}); delete it and rerun`);
    return { server, docs, expected: expectedScreen(docs) };
  } catch (error) {
    await server.close();
    throw error;
  }
}
