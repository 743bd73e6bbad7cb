/**
 * Scenario 2: cold start. A device already holds a replica of N conversations (Dexie over
 * fake-indexeddb, which outlives the engine in this process); the server is gone. A new engine
 * opens that replica offline; the clock runs from `createConversationEngine` until
 * `conversationList$()` has emitted the list and `totalUnreadCount$` the replica's total.
 */
import { IDBFactory } from 'fake-indexeddb';
import { Subject } from 'rxjs';
import { createEngine, deviceOptions, engineAvailable, untilSynced } from '../lib/convsync.js';
import { freshStorage, type DeviceStorage } from '../lib/rx.js';
import { defineScenario, SkipScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { ACCOUNT, seededServer } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, type Figure } from '../lib/stats.js';
import { now, waitFor } from '../lib/time.js';

interface Row extends BaseRow {
  conversations: number;
  storage: string;
  /** Until the first `conversationList$()` emission holding the replica's conversations. */
  listMs: Figure;
  /** Until the first `totalUnreadCount$` emission equal to the replica's total. */
  unreadMs: Figure;
  /** Until both. */
  bothMs: Figure;
}

const PLAN: Record<Mode, { size: number; runs: number }> = {
  smoke: { size: 300, runs: 2 },
  quick: { size: 10_000, runs: 7 },
  full: { size: 10_000, runs: 11 },
};

const TARGET_MS = 150;

export default defineScenario<Row>({
  name: 'cold-start',
  title: '2. Cold start, offline (Node)',
  target: `≤ ${TARGET_MS} ms from a local replica of 10,000 conversations to the first conversationList$ and totalUnreadCount$`,
  method: [
    'A device syncs N conversations (each with one unread) into a Dexie replica over fake-indexeddb and closes; the',
    'server is then stopped. Each run creates a new engine on that replica (same database name and device id) with',
    'the server unreachable, and measures from `createConversationEngine` until `conversationList$()` emitted a',
    'non-empty list and `totalUnreadCount$` emitted N (the first emissions that show the replica). The first run',
    'is a warm-up and not counted.',
  ].join(' '),
  async run({ mode, progress }) {
    if (!(await engineAvailable())) throw new SkipScenario('@convsync/engine is not available yet');
    const { size, runs } = PLAN[mode];
    const server = await seededServer(size, progress);
    const url = server.url;
    const token = await server.issueToken(ACCOUNT);
    const indexedDB = new IDBFactory();
    const storage: DeviceStorage = { ...freshStorage('dexie'), indexedDB };
    const options = deviceOptions(url, token, storage, `cold${process.pid}`);
    try {
      const engine = await createEngine(options);
      await untilSynced(engine, size);
      await engine.close();
    } finally {
      await server.close();
    }
    const samples = { list: [] as number[], unread: [] as number[], both: [] as number[] };
    progress.start(`cold start ${size.toLocaleString('en-US')}`, runs + 1);
    for (let run = 0; run <= runs; run++) {
      const start = now();
      let listAt = 0;
      let unreadAt = 0;
      const engine = await createEngine(options);
      try {
        const service = engine.conversationService;
        // Each observable is timed on its own subscription (combineLatest would hold the first
        // back until the other one emitted).
        const shown = new Subject<void>();
        const subscriptions = [
          service.conversationList$().subscribe((list) => {
            if (listAt === 0 && list.length > 0) {
              listAt = now();
              shown.next();
            }
          }),
          service.totalUnreadCount$.subscribe((unread) => {
            if (unreadAt === 0 && unread === size) {
              unreadAt = now();
              shown.next();
            }
          }),
        ];
        try {
          if (listAt === 0 || unreadAt === 0) await waitFor(shown, () => listAt !== 0 && unreadAt !== 0, 60_000, 'the replica to show');
        } finally {
          for (const subscription of subscriptions) subscription.unsubscribe();
        }
      } finally {
        await engine.close();
      }
      if (run === 0) {
        progress.tick('warm-up');
        continue;
      }
      samples.list.push(listAt - start);
      samples.unread.push(unreadAt - start);
      samples.both.push(Math.max(listAt, unreadAt) - start);
      progress.tick(`${Math.round(Math.max(listAt, unreadAt) - start)} ms`);
    }
    return [{
      mode,
      conversations: size,
      storage: 'Dexie (fake-indexeddb)',
      listMs: figure(samples.list),
      unreadMs: figure(samples.unread),
      bothMs: figure(samples.both),
    }];
  },
  columns: [
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'storage', cell: (r) => r.storage, right: false },
    { header: 'first list ms', cell: (r) => formatFigure(r.listMs, '', 0) },
    { header: 'first total unread ms', cell: (r) => formatFigure(r.unreadMs, '', 0) },
    { header: 'both ms', cell: (r) => formatFigure(r.bothMs, '', 0) },
  ],
  verdict(rows) {
    const row = rows[0];
    if (row === undefined) return 'not measured';
    const ms = row.bothMs.median;
    return ms <= TARGET_MS
      ? `met: ${formatNumber(ms, 0)} ms ≤ ${TARGET_MS} ms at ${row.conversations.toLocaleString('en-US')} conversations`
      : `missed: ${formatNumber(ms, 0)} ms is ${formatNumber(ms / TARGET_MS, 2)}× the ${TARGET_MS} ms target at ${row.conversations.toLocaleString('en-US')} conversations`;
  },
});
