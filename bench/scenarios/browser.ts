/**
 * Scenarios 1b and 2b: fresh-device sync and cold start in headless Chromium, with Dexie on the
 * browser's real IndexedDB — where users live. The servers run in the benchmark process; the page
 * (bench/browser/page.ts) runs the floor (raw socket.io pages plus `bulkInsert`, as in Node), the
 * engine's sync, and the engine's cold start after a page reload, offline.
 */
import type { Page } from 'playwright-core';
import { chromiumInstalled, CHROMIUM_PATH, launchChromium, openBenchPage, startPageServer } from '../lib/browser.js';
import { startFloorServer } from '../lib/floor.js';
import { defineScenario, SkipScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { ACCOUNT, pullAll, seededServer } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, round, type Figure } from '../lib/stats.js';
import { withTimeout } from '../lib/time.js';
import type { DeviceRequest } from '../browser/page.js';

interface Row extends BaseRow {
  measure: 'fresh-sync' | 'cold-start';
  conversations: number;
  /** Fresh sync: until synced with every conversation. Cold start: until both first emissions. */
  convsyncMs: Figure | null;
  /** Fresh sync only: raw socket.io pages + `bulkInsert` into Dexie. */
  floorMs: Figure | null;
  ratioToFloor: number | null;
  /** Cold start only. */
  listMs?: Figure;
  unreadMs?: Figure;
  note?: string;
}

const PLAN: Record<Mode, { size: number; runs: number }> = {
  smoke: { size: 300, runs: 1 },
  quick: { size: 10_000, runs: 3 },
  full: { size: 10_000, runs: 5 },
};

const FLOOR_TARGET = 1.5;
const COLD_TARGET_MS = 100;
/** A loopback port nothing listens on: the cold start is offline. */
const UNREACHABLE = 'http://127.0.0.1:9';

function call<T>(page: Page, fn: (arg: never) => Promise<T>, arg: unknown, what: string): Promise<T> {
  return withTimeout(page.evaluate(fn as (arg: unknown) => Promise<T>, arg), 600_000, what);
}

export default defineScenario<Row>({
  name: 'browser',
  title: '1b/2b. Fresh-device sync and cold start in Chromium',
  target: `fresh sync ≤ ${FLOOR_TARGET}× the floor; cold start ≤ ${COLD_TARGET_MS} ms (10,000 conversations, Dexie on IndexedDB)`,
  method: [
    'Debian\'s Chromium, headless, driven by playwright-core; the page is bundled with esbuild and served on loopback;',
    'Dexie on the browser\'s real IndexedDB. Servers run in the benchmark process (the ConvSync server on SQLite, with',
    'the same seeded conversations as scenario 1). Floor: the same documents raw over socket.io in pages of 2,000 plus',
    'a plain RxDB `bulkInsert`, as in Node. ConvSync: `createConversationEngine` until `synced` with every conversation.',
    'The two alternate within each repetition; IndexedDB is emptied between runs. Cold start: after one sync into a',
    'named replica the page is reloaded and a new engine opens it with the server unreachable; the clock runs from',
    '`createConversationEngine` to the first `conversationList$()` and `totalUnreadCount$` emissions showing the replica.',
  ].join(' '),
  async run({ mode, progress, log }) {
    if (!chromiumInstalled()) throw new SkipScenario(`no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
    const { size, runs } = PLAN[mode];
    const server = await seededServer(size, progress);
    const docs = await pullAll(server);
    const floor = await startFloorServer(docs);
    const pages = await startPageServer();
    const browser = await launchChromium();
    const rows: Row[] = [];
    try {
      const page = await openBenchPage(browser, pages.url);
      const withEngine = pages.engineBundled && await page.evaluate(() => window.convsyncBench.engineAvailable());
      if (!withEngine) log('browser: the engine is not available yet — measuring the floor only');
      const token = await server.issueToken(ACCOUNT);
      const device = (name: string, url = server.url): DeviceRequest => ({ url, token, expected: size, databaseName: `${name}db`, deviceId: name });
      const samples = { floor: [] as number[], convsync: [] as number[] };
      progress.start(`browser fresh sync ${size.toLocaleString('en-US')}`, runs * (withEngine ? 2 : 1));
      for (let run = 0; run < runs; run++) {
        const floorRun = await call(page, (url: string) => window.convsyncBench.floor(url), floor.url, 'browser floor');
        if (floorRun.count !== size) throw new Error(`browser floor stored ${floorRun.count} of ${size}`);
        samples.floor.push(floorRun.ms);
        await page.evaluate(() => window.convsyncBench.clear());
        progress.tick(`floor ${Math.round(floorRun.ms)} ms`);
        if (withEngine) {
          const ms = await call(page, (request: DeviceRequest) => window.convsyncBench.convsync(request), device(`fresh${run}`), 'browser sync');
          samples.convsync.push(ms);
          await page.evaluate(() => window.convsyncBench.clear());
          progress.tick(`convsync ${Math.round(ms)} ms`);
        }
      }
      const ratios = samples.convsync.map((c, i) => c / (samples.floor[i] as number));
      rows.push({
        mode,
        measure: 'fresh-sync',
        conversations: size,
        convsyncMs: withEngine ? figure(samples.convsync) : null,
        floorMs: figure(samples.floor),
        ratioToFloor: withEngine ? round(figure(ratios).median) : null,
        ...(withEngine ? {} : { note: 'engine not available' }),
      });

      if (withEngine) {
        const replica = device('cold');
        await call(page, (request: DeviceRequest) => window.convsyncBench.convsync(request), replica, 'browser sync for the cold start');
        const cold = { list: [] as number[], unread: [] as number[], both: [] as number[] };
        progress.start(`browser cold start ${size.toLocaleString('en-US')}`, runs + 1);
        for (let run = 0; run <= runs; run++) {
          await page.reload();
          await page.waitForFunction(() => 'convsyncBench' in window);
          const result = await call(page, (request: DeviceRequest) => window.convsyncBench.coldStart(request), { ...replica, url: UNREACHABLE }, 'browser cold start');
          if (run === 0) {
            progress.tick('warm-up');
            continue;
          }
          cold.list.push(result.listMs);
          cold.unread.push(result.unreadMs);
          cold.both.push(Math.max(result.listMs, result.unreadMs));
          progress.tick(`${Math.round(Math.max(result.listMs, result.unreadMs))} ms`);
        }
        rows.push({
          mode,
          measure: 'cold-start',
          conversations: size,
          convsyncMs: figure(cold.both),
          floorMs: null,
          ratioToFloor: null,
          listMs: figure(cold.list),
          unreadMs: figure(cold.unread),
        });
        await page.evaluate(() => window.convsyncBench.clear());
      }
    } finally {
      await browser.close();
      await pages.close();
      await floor.close();
      await server.close();
    }
    return rows;
  },
  columns: [
    { header: 'measure', cell: (r) => (r.measure === 'fresh-sync' ? 'fresh-device sync' : 'cold start, offline'), right: false },
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'ConvSync ms', cell: (r) => (r.convsyncMs === null ? '—' : formatFigure(r.convsyncMs, '', 0)) },
    { header: 'floor ms', cell: (r) => (r.floorMs === null ? '—' : formatFigure(r.floorMs, '', 0)) },
    { header: 'ratio to floor', cell: (r) => (r.ratioToFloor === null ? '—' : `${formatNumber(r.ratioToFloor, 2)}×`) },
    { header: 'first list / total unread ms', cell: (r) => (r.listMs === undefined || r.unreadMs === undefined ? '—' : `${formatNumber(r.listMs.median, 0)} / ${formatNumber(r.unreadMs.median, 0)}`) },
  ],
  verdict(rows) {
    const parts: string[] = [];
    const sync = rows.find((r) => r.measure === 'fresh-sync');
    if (sync?.ratioToFloor !== null && sync?.ratioToFloor !== undefined) {
      parts.push(sync.ratioToFloor <= FLOOR_TARGET
        ? `fresh sync ${formatNumber(sync.ratioToFloor, 2)}× the floor (met)`
        : `fresh sync ${formatNumber(sync.ratioToFloor, 2)}× the floor (missed by ${formatNumber(sync.ratioToFloor / FLOOR_TARGET, 2)}×)`);
    } else parts.push('fresh sync: ConvSync not measured (engine missing)');
    const cold = rows.find((r) => r.measure === 'cold-start');
    if (cold?.convsyncMs != null) {
      const ms = cold.convsyncMs.median;
      parts.push(ms <= COLD_TARGET_MS
        ? `cold start ${formatNumber(ms, 0)} ms (met)`
        : `cold start ${formatNumber(ms, 0)} ms (missed: ${formatNumber(ms / COLD_TARGET_MS, 2)}× the ${COLD_TARGET_MS} ms target)`);
    }
    return parts.join('; ');
  },
});
