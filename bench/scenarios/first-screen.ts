/**
 * Scenario 7: the first screen of a fresh device. A server holds an account of N conversations
 * (lib/first-screen-seed.ts: pins, unread spread, the newest conversations old ones in the middle
 * of the log); a device with an empty replica signs in. The clock runs from
 * `createConversationEngine` until the list's first 50 rows and the total unread are what they are
 * after the full sync — computed from the server's documents with the protocol's list order, not by
 * the engine — and on until the sync is complete. The peer, RxDB's `replication-websocket`, pulls in
 * its own order and knows the total only once it has every document: its first right screen is
 * its full sync. Node (memory, Dexie over fake-indexeddb) and Chromium (Dexie on IndexedDB).
 */
import type { Page } from 'playwright-core';
import { barChart } from '../lib/chart.js';
import { chromiumInstalled, CHROMIUM_PATH, launchChromium, openBenchPage, startPageServer, type PageServer } from '../lib/browser.js';
import { createEngine, deviceOptions, engineAvailable, removeReplica } from '../lib/convsync.js';
import { peerScreen, screenDiff, timeFirstScreen, type ExpectedScreen, type FirstScreenTimes, type Until } from '../lib/first-screen.js';
import { firstScreenServer, type FirstScreenSeed } from '../lib/first-screen-seed.js';
import { peerSync, startPeerServer, type PeerServer } from '../lib/peer.js';
import type { Progress } from '../lib/progress.js';
import { freshStorage, STORAGE_KINDS } from '../lib/rx.js';
import { defineScenario, SkipScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { ACCOUNT } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, round, type Figure } from '../lib/stats.js';
import { untilQuiet } from '../lib/quiet.js';
import { now, withTimeout } from '../lib/time.js';
import type { FirstScreenRequest } from '../browser/page.js';

type Environment = 'node' | 'chromium';
type Storage = 'memory' | 'dexie' | 'indexeddb';

interface Row extends BaseRow {
  conversations: number;
  environment: Environment;
  storage: Storage;
  /** From `createConversationEngine` until the top 50 rows and the total unread are right. */
  firstScreenMs: Figure;
  /** From `createConversationEngine` until 'synced' with every conversation listed. */
  fullSyncMs: Figure;
  /** The peer's initial replication (its first right screen). */
  peerFirstScreenMs: Figure;
  /** Peer first screen / ConvSync first screen (median of the per-repetition ratios). */
  speedupVsPeer: number;
  /** The expected screen's total unread, for the record. */
  totalUnread: number;
}

const PLAN: Record<Mode, { sizes: number[]; runs: (size: number) => number }> = {
  smoke: { sizes: [300], runs: () => 1 },
  quick: { sizes: [1_000, 10_000], runs: (size) => (size >= 10_000 ? 3 : 5) },
  // 100k: the peer alone takes most of a minute per run in each of three storages.
  full: { sizes: [1_000, 10_000, 100_000], runs: (size) => (size >= 100_000 ? 2 : size >= 10_000 ? 3 : 5) },
};

const TARGET_MS = 150;
const TARGET_SIZE = 100_000;
const FLAT = 2;
const PEER_TARGET = 50;
/** One run's bound: far above a run on a busy machine (10k: seconds), so a stuck sync fails the run with its state. */
const runTimeoutMs = (size: number): number => Math.max(120_000, size * 3);

const label = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));
const storageLabel = (s: Storage): string => (s === 'dexie' ? 'Dexie (fake-indexeddb)' : s === 'indexeddb' ? 'Dexie (IndexedDB)' : 'memory');

interface Samples {
  first: number[];
  full: number[];
  peer: number[];
}

function rowOf(mode: Mode, size: number, environment: Environment, storage: Storage, samples: Samples, expected: ExpectedScreen): Row {
  const speedups = samples.first.map((ms, i) => (samples.peer[i] as number) / ms);
  return {
    mode,
    conversations: size,
    environment,
    storage,
    firstScreenMs: figure(samples.first),
    fullSyncMs: figure(samples.full),
    peerFirstScreenMs: figure(samples.peer),
    speedupVsPeer: round(figure(speedups).median),
    totalUnread: expected.totalUnread,
  };
}

/**
 * One untimed round first (JIT, socket.io and RxDB code paths, the page's first IndexedDB). Above
 * 20k the untimed round is ConvSync's alone: the peer's takes minutes, and its first screen (its
 * whole replication) is too long for a first run's warm-up to show.
 */
const WARM_UP = -1;
const peerWarmsUp = (size: number): boolean => size <= 20_000;
const ticks = (size: number, runs: number): number => (runs - WARM_UP) * 2 - (peerWarmsUp(size) ? 0 : 1);

async function nodeRows(mode: Mode, size: number, seed: FirstScreenSeed, peer: PeerServer, progress: Progress, log: (message: string) => void, onRow: (row: Row) => void): Promise<void> {
  const [token] = await seed.server.issueTokens([ACCOUNT]) as [string];
  for (const kind of STORAGE_KINDS) {
    const runs = PLAN[mode].runs(size);
    const samples: Samples = { first: [], full: [], peer: [] };
    progress.start(`first-screen node ${label(size)} ${kind}`, ticks(size, runs));
    for (let run = WARM_UP; run < runs; run++) {
      const storage = freshStorage(kind);
      const device = deviceOptions(seed.server.url, token, storage);
      let times: FirstScreenTimes;
      await quiet(log);
      try {
        times = await timeFirstScreen(() => createEngine(device), seed.expected, now, runTimeoutMs(size));
      } finally {
        await removeReplica(device, storage);
      }
      progress.tick(`convsync first screen ${Math.round(times.firstScreenMs)} ms, full ${Math.round(times.fullSyncMs)} ms`);
      if (run < 0 && !peerWarmsUp(size)) continue;

      await quiet(log);
      const start = now();
      const database = await withTimeout(peerSync(peer.url, freshStorage(kind)), runTimeoutMs(size), `the peer's sync of ${size}`);
      const peerMs = now() - start;
      try {
        const wrong = screenDiff(await peerScreen(database, seed.docs.map((doc) => doc.conversationId)), seed.expected);
        if (wrong !== null) throw new Error(`the peer's screen is wrong after its sync: ${wrong}`);
      } finally {
        await database.db.remove();
      }
      progress.tick(`peer ${Math.round(peerMs)} ms`);
      if (run < 0) continue;
      samples.first.push(times.firstScreenMs);
      samples.full.push(times.fullSyncMs);
      samples.peer.push(peerMs);
    }
    onRow(rowOf(mode, size, 'node', kind, samples, seed.expected));
  }
}

function call<T>(page: Page, fn: (arg: never) => Promise<T>, arg: unknown, what: string, ms: number): Promise<T> {
  return withTimeout(page.evaluate(fn as (arg: unknown) => Promise<T>, arg), ms, what);
}

/**
 * A fresh browser (a new profile: its own, empty IndexedDB) with the page open. Every timed
 * Chromium run gets one: Chromium keeps all of an origin's databases in one LevelDB, and the
 * remains of the previous run's 100k documents (deleted, not yet compacted) slowed every storage
 * call of the next run by up to half — a state no new device is in.
 */
async function inFreshBrowser<T>(pages: PageServer, run: (page: Page) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    return await run(await openBenchPage(browser, pages.url));
  } finally {
    await browser.close();
  }
}

/** Before a timed run: the machine quiet (lib/quiet.ts), or a note that it never was. */
async function quiet(log: (message: string) => void): Promise<void> {
  if (!(await untilQuiet())) log('first-screen: the machine did not go quiet before a timed run (measured anyway)');
}

async function chromiumRow(mode: Mode, size: number, seed: FirstScreenSeed, peer: PeerServer, pages: PageServer, progress: Progress, log: (message: string) => void): Promise<Row> {
  const runs = PLAN[mode].runs(size);
  const samples: Samples = { first: [], full: [], peer: [] };
  const [token] = await seed.server.issueTokens([ACCOUNT]) as [string];
  const request = (run: number, until: Until): FirstScreenRequest => ({
    url: seed.server.url, token, databaseName: `fs${size}r${run}${until}`, deviceId: `fs${size}r${run}`, expected: seed.expected, timeoutMs: runTimeoutMs(size), until,
  });
  const firstScreen = (page: Page, r: FirstScreenRequest): Promise<FirstScreenTimes> =>
    call(page, (arg: FirstScreenRequest) => window.convsyncBench.firstScreen(arg), r, 'browser first screen', runTimeoutMs(size) + 10_000);
  const peerSyncMs = (page: Page): Promise<number> =>
    call(page, (a: { url: string; expected: ExpectedScreen; ids: string[] }) => window.convsyncBench.peer(a.url, a.expected, a.ids), { url: peer.url, expected: seed.expected, ids: seed.docs.map((doc) => doc.conversationId) }, 'browser peer', runTimeoutMs(size));
  progress.start(`first-screen chromium ${label(size)}`, runs * 2);
  for (let run = 0; run < runs; run++) {
    // Warmed up to its first screen only (JIT, socket.io, the page's first IndexedDB), then measured.
    const times = await inFreshBrowser(pages, async (page) => {
      await firstScreen(page, request(run, 'first-screen'));
      await page.evaluate(() => window.convsyncBench.clear());
      await quiet(log);
      return firstScreen(page, request(run, 'synced'));
    });
    progress.tick(`convsync first screen ${Math.round(times.firstScreenMs)} ms, full ${Math.round(times.fullSyncMs)} ms`);
    // The peer's first screen is its whole replication: its warm-up is one (up to 20k; above, minutes).
    const peerMs = await inFreshBrowser(pages, async (page) => {
      if (peerWarmsUp(size)) {
        await peerSyncMs(page);
        await page.evaluate(() => window.convsyncBench.clear());
      }
      await quiet(log);
      return peerSyncMs(page);
    });
    progress.tick(`peer ${Math.round(peerMs)} ms`);
    samples.first.push(times.firstScreenMs);
    samples.full.push(times.fullSyncMs);
    samples.peer.push(peerMs);
  }
  return rowOf(mode, size, 'chromium', 'indexeddb', samples, seed.expected);
}

function byEnvironment(rows: readonly Row[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.environment} ${row.storage}`;
    groups.set(key, [...(groups.get(key) ?? []), row].sort((a, b) => a.conversations - b.conversations));
  }
  return groups;
}

export default defineScenario<Row>({
  name: 'first-screen',
  title: '7. First screen of a fresh device',
  target: `≤ ${TARGET_MS} ms to the right top ${50} rows and total unread at ${label(TARGET_SIZE)} conversations in Chromium; flat in size (${label(TARGET_SIZE)} / 1k ≤ ${FLAT}×); ≥ ${PEER_TARGET}× sooner than the peer at ${label(TARGET_SIZE)}`,
  method: [
    'A server (SQLite) holds one account of N P2P conversations made through the product:',
    'each created by a message from its peer, one in 16 with 1–4 more messages, then 120 old conversations spread',
    'over the whole account get a new message one after another (the top of the list: old conversations in the middle',
    'of the log), then a device of the account reads three in four conversations (`clearUnreadCountByIds`) and pins',
    'six old ones — so the end of the log is neither the top of the list nor where the unread are. The seed is checked',
    'against its plan (pins, order of the newest, total unread) at every load and cached in the temp folder. The',
    'expected screen is computed from the server\'s documents alone: the first 50 rows in the protocol\'s list order',
    '(`conversationRank`: pinned first, then newest) with their pin, sort order and unread count, and the sum of the',
    'unread counts. ConvSync: the clock starts before `createConversationEngine` on an empty replica; first screen',
    'is the first moment the last `conversationList$()` emission starts with those 50 rows and the last',
    '`totalUnreadCount$` emission is the total; full sync is `syncState$` `synced` with every conversation listed',
    '(the same run, with the list subscribed as a UI holds it); after it `getConversationList(0, 50)` must show the',
    'same rows. Peer: RxDB 17.6 `replication-websocket` with its defaults from an RxDB memory database holding the',
    'same documents; it pulls in its own order and its total unread is a sum over every document, so its first right',
    'screen is the end of its initial replication (its screen is then checked, untimed). Node: RxDB memory and Dexie',
    'over a fresh fake-indexeddb; Chromium: Dexie on IndexedDB, in the page of scenario 1b. ConvSync and the peer',
    'alternate within each repetition; the speed-up is the median of the per-repetition ratios. In Node, one untimed',
    'round comes first (above 20k ConvSync\'s only: the peer\'s takes minutes). In Chromium every run has a browser of',
    'its own (a new profile, so an empty IndexedDB: Chromium keeps an origin\'s databases in one LevelDB, where the',
    'previous run\'s deleted documents slowed the next run\'s storage by up to half), warmed up in that browser by one',
    'untimed round — ConvSync\'s to its first screen, the peer\'s a whole replication up to 20k, none above.',
    'Every timed run starts on a quiet machine (a 250 ms window at least 90 % idle, waited for up to 15 s: on 2 CPUs',
    'the kernel tearing down a closed browser, or a collector, took a whole CPU for up to a second).',
    'The servers (ConvSync\'s and the peer\'s) run in processes of their own, so a device measured in the benchmark',
    'process shares no heap or collector with them.',
  ].join(' '),
  async run({ mode, progress, log, keep }) {
    if (!(await engineAvailable())) throw new SkipScenario('@convsync/engine is not available yet');
    const rows: Row[] = [];
    const withBrowser = chromiumInstalled();
    if (!withBrowser) log(`first-screen: no Chromium at ${CHROMIUM_PATH} — measuring Node only`);
    const pages: PageServer | undefined = withBrowser ? await startPageServer() : undefined;
    try {
      if (pages?.engineBundled === false) throw new Error('the engine does not bundle for the browser');
      for (const size of PLAN[mode].sizes) {
        const seed = await firstScreenServer(size, progress);
        const peer = await startPeerServer(seed.docs).catch(async (error: unknown) => {
          await seed.server.close();
          throw error;
        });
        try {
          if (pages !== undefined) {
            // A browser per run (closed after it), so no Chromium process runs beside the Node measurements.
            rows.push(await chromiumRow(mode, size, seed, peer, pages, progress, log));
            keep(rows);
          }
          await nodeRows(mode, size, seed, peer, progress, log, (row) => {
            rows.push(row);
            keep(rows);
          });
        } finally {
          await peer.close();
          await seed.server.close();
        }
      }
    } finally {
      await pages?.close();
    }
    return rows;
  },
  columns: [
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'environment', cell: (r) => r.environment, right: false },
    { header: 'storage', cell: (r) => storageLabel(r.storage), right: false },
    { header: 'first screen ms', cell: (r) => formatFigure(r.firstScreenMs, '', 0) },
    { header: 'full sync ms', cell: (r) => formatFigure(r.fullSyncMs, '', 0) },
    { header: 'peer first screen ms', cell: (r) => formatFigure(r.peerFirstScreenMs, '', 0) },
    { header: 'sooner than the peer', cell: (r) => `${formatNumber(r.speedupVsPeer, 2)}×` },
    { header: 'total unread', cell: (r) => r.totalUnread.toLocaleString('en-US') },
  ],
  verdict(rows) {
    const parts: string[] = [];
    const at = (environment: Environment, size: number): Row | undefined => rows.find((r) => r.environment === environment && r.conversations === size);
    const largestChromium = rows.filter((r) => r.environment === 'chromium').sort((a, b) => b.conversations - a.conversations)[0];
    const target = at('chromium', TARGET_SIZE);
    if (target !== undefined) {
      const ms = target.firstScreenMs.median;
      parts.push(ms <= TARGET_MS
        ? `Chromium ${label(TARGET_SIZE)}: ${formatNumber(ms, 0)} ms ≤ ${TARGET_MS} ms (met)`
        : `Chromium ${label(TARGET_SIZE)}: ${formatNumber(ms, 0)} ms (missed: ${formatNumber(ms / TARGET_MS, 2)}× the ${TARGET_MS} ms target)`);
    } else if (largestChromium !== undefined) {
      const ms = largestChromium.firstScreenMs.median;
      parts.push(`Chromium ${label(TARGET_SIZE)} not measured; at ${label(largestChromium.conversations)}: ${formatNumber(ms, 0)} ms (${ms <= TARGET_MS ? 'within' : `${formatNumber(ms / TARGET_MS, 2)}× over`} the ${TARGET_MS} ms target already)`);
    } else parts.push('Chromium not measured');
    const flat: string[] = [];
    for (const [key, group] of byEnvironment(rows)) {
      const small = group[0];
      const large = group[group.length - 1];
      if (small === undefined || large === undefined || small === large) continue;
      const ratio = large.firstScreenMs.median / small.firstScreenMs.median;
      const ok = ratio <= FLAT;
      const final = large.conversations >= TARGET_SIZE;
      flat.push(`${key} ${label(large.conversations)} / ${label(small.conversations)} = ${formatNumber(ratio, 2)}× (${ok ? (final ? 'flat, met' : 'flat so far') : `not flat: ${final ? 'missed' : 'already over'} ${FLAT}×`})`);
    }
    if (flat.length > 0) parts.push(`flat in size: ${flat.join(', ')}`);
    const peer = rows.filter((r) => r.conversations === TARGET_SIZE);
    const largest = Math.max(...rows.map((r) => r.conversations));
    const peerRows = peer.length > 0 ? peer : rows.filter((r) => r.conversations === largest);
    if (peerRows.length > 0) {
      const scope = peer.length > 0 ? '' : ` (${label(TARGET_SIZE)} not measured; at ${label(largest)})`;
      parts.push(`sooner than the peer${scope}: ${peerRows.map((r) => `${r.environment} ${r.storage} ${formatNumber(r.speedupVsPeer, 2)}× (${r.speedupVsPeer >= PEER_TARGET ? 'met' : `missed: needs ${formatNumber(PEER_TARGET / r.speedupVsPeer, 1)}× more`})`).join(', ')}`);
    }
    return parts.join('; ');
  },
  chart(rows) {
    return barChart({
      title: 'First screen of a fresh device: right top 50 and total unread (log scale, median with min–max)',
      unit: 'ms',
      groups: rows.map((r) => ({
        label: `${label(r.conversations)} · ${r.environment === 'chromium' ? 'Chromium' : r.storage}`,
        bars: [
          { series: 'ConvSync first screen', ...r.firstScreenMs },
          { series: 'ConvSync full sync', ...r.fullSyncMs },
          { series: 'RxDB replication-websocket', ...r.peerFirstScreenMs },
        ],
      })),
    });
  },
});
