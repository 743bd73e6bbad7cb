/**
 * Scenario 4: unread views. With N conversations in the replica (each with one unread), one
 * conversation is marked read on the device (offline, so only the local views work); the clock
 * runs until `totalUnreadCount$` and a filtered `unreadCountByFilter$` have both emitted the new
 * counts. Flat means the views are incremental: 100k costs about what 1k costs.
 */
import { ConversationType } from '@convsync/protocol';
import { combineLatest } from 'rxjs';
import { createEngine, deviceOptions, engineAvailable, untilSynced } from '../lib/convsync.js';
import { freshStorage } from '../lib/rx.js';
import { defineScenario, SkipScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { ACCOUNT, conversationOf, seededServer } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, round, type Figure } from '../lib/stats.js';
import { now, waitFor } from '../lib/time.js';

interface Row extends BaseRow {
  conversations: number;
  changes: number;
  /** From `markConversationRead` until both counts emitted their new values. */
  updateMs: Figure;
  /** Until `totalUnreadCount$` alone emitted. */
  totalMs: Figure;
  /** This size's median / the smallest size's median. */
  ratioToSmallest: number;
}

const PLAN: Record<Mode, { sizes: number[]; changes: number }> = {
  smoke: { sizes: [100, 300], changes: 5 },
  quick: { sizes: [1_000, 10_000], changes: 30 },
  full: { sizes: [1_000, 10_000, 100_000], changes: 50 },
};

const FILTER = { conversationTypes: [ConversationType.P2P], ignoreMuted: true };

export default defineScenario<Row>({
  name: 'unread-views',
  title: '4. Unread views',
  target: 'flat: the update time at 100k conversations ≤ 2× the time at 1k',
  method: [
    'A device (memory storage) syncs N conversations, each with one unread, then goes offline (`disconnect()`).',
    `Subscribed: \`totalUnreadCount$\` and \`unreadCountByFilter$(${JSON.stringify(FILTER)})\`. Each change marks`,
    'one more conversation read (`markConversationRead`); the clock runs from the call until both observables emitted',
    'the decremented count. The first change is a warm-up and not counted.',
  ].join(' '),
  async run({ mode, progress }) {
    if (!(await engineAvailable())) throw new SkipScenario('@convsync/engine is not available yet');
    const { sizes, changes } = PLAN[mode];
    const rows: Row[] = [];
    for (const size of sizes) {
      const server = await seededServer(size, progress);
      const token = await server.issueToken(ACCOUNT);
      const engine = await createEngine(deviceOptions(server.url, token, freshStorage('memory')));
      try {
        await untilSynced(engine, size);
        engine.disconnect();
        const service = engine.conversationService;
        const total$ = service.totalUnreadCount$;
        const filtered$ = service.unreadCountByFilter$(FILTER);
        let total = -1;
        let filtered = -1;
        let totalAt = 0;
        let filteredAt = 0;
        const subscriptions = [
          total$.subscribe((count) => {
            total = count;
            totalAt = now();
          }),
          filtered$.subscribe((count) => {
            filtered = count;
            filteredAt = now();
          }),
        ];
        const samples = { both: [] as number[], total: [] as number[] };
        progress.start(`unread views ${size.toLocaleString('en-US')}`, changes + 1);
        try {
          for (let i = 0; i <= changes; i++) {
            const expected = size - i - 1;
            const start = now();
            await service.markConversationRead(conversationOf(i));
            await waitFor(combineLatest([total$, filtered$]), ([t, f]) => t === expected && f === expected && total === expected && filtered === expected, 30_000, `unread ${expected}`);
            if (i === 0) {
              progress.tick('warm-up');
              continue;
            }
            samples.both.push(Math.max(totalAt, filteredAt) - start);
            samples.total.push(totalAt - start);
            progress.tick(`${(Math.max(totalAt, filteredAt) - start).toFixed(2)} ms`);
          }
        } finally {
          for (const s of subscriptions) s.unsubscribe();
        }
        rows.push({ mode, conversations: size, changes, updateMs: figure(samples.both), totalMs: figure(samples.total), ratioToSmallest: 1 });
      } finally {
        await engine.close();
        await server.close();
      }
    }
    const base = rows[0]?.updateMs.median ?? 1;
    for (const row of rows) row.ratioToSmallest = round(row.updateMs.median / base);
    return rows;
  },
  columns: [
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'changes', cell: (r) => String(r.changes) },
    { header: 'total + filtered updated ms', cell: (r) => formatFigure(r.updateMs, '', 2) },
    { header: 'total updated ms', cell: (r) => formatFigure(r.totalMs, '', 2) },
    { header: 'vs smallest', cell: (r) => `${formatNumber(r.ratioToSmallest, 2)}×` },
  ],
  verdict(rows) {
    const first = rows[0];
    const last = rows[rows.length - 1];
    if (first === undefined || last === undefined || rows.length < 2) return 'not measured';
    const ratio = last.updateMs.median / first.updateMs.median;
    const label = `${last.conversations.toLocaleString('en-US')} / ${first.conversations.toLocaleString('en-US')} = ${formatNumber(ratio, 2)}×`;
    return ratio <= 2 ? `flat: ${label} (met)` : `not flat: ${label} (missed by ${formatNumber(ratio / 2, 2)}×)`;
  },
});
