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
import { ACCOUNT, conversationOf, peerOf, seededServer } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, round, type Figure } from '../lib/stats.js';
import { now, waitFor } from '../lib/time.js';

interface Row extends BaseRow {
  /** What changed: a read on this device (offline), or a message arriving from the server. */
  change: 'local read' | 'incoming message';
  conversations: number;
  changes: number;
  /** From `markConversationRead` until both counts emitted their new values. */
  updateMs: Figure;
  /** Until `totalUnreadCount$` alone emitted. */
  totalMs: Figure;
  /** This size's median / the smallest size's median (same kind of change). */
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
    'A device (memory storage) syncs N conversations from the server (in the benchmark process), each with one unread.',
    `Subscribed: \`totalUnreadCount$\` and \`unreadCountByFilter$(${JSON.stringify(FILTER)})\`. Incoming message: the`,
    'server ingests a message from one of the peers (`server.sendMessage`); the clock runs from the call until both',
    'observables emitted the incremented count (ingest, stream, replication into the replica, views). Local read: the',
    'device goes offline (`disconnect()`) and marks one more conversation read (`markConversationRead`); the clock runs',
    'until both emitted the decremented count. The first change of each kind is a warm-up and not counted.',
  ].join(' '),
  async run({ mode, progress, keep }) {
    if (!(await engineAvailable())) throw new SkipScenario('@convsync/engine is not available yet');
    const { sizes, changes } = PLAN[mode];
    const rows: Row[] = [];
    for (const size of sizes) {
      // Writable: the incoming messages must not change the cached seed other benchmarks expect.
      const server = await seededServer(size, progress, { writable: true });
      const token = await server.issueToken(ACCOUNT);
      const engine = await createEngine(deviceOptions(server.url, token, freshStorage('memory')));
      try {
        await untilSynced(engine, size);
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
        /** Runs `change` and waits until both counts moved by `delta`; returns [both, total] ms. */
        const measureChange = async (delta: number, change: () => Promise<unknown>): Promise<[number, number]> => {
          const expected = service.getTotalUnreadCount() + delta;
          const start = now();
          await change();
          await waitFor(combineLatest([total$, filtered$]), ([t, f]) => t === expected && f === expected && total === expected && filtered === expected, 30_000, `unread ${expected}`);
          return [Math.max(totalAt, filteredAt) - start, totalAt - start];
        };
        try {
          const kinds: [Row['change'], (i: number) => [number, () => Promise<unknown>]][] = [
            // A message from peer i to an existing conversation: server ingest, stream, replication, views.
            ['incoming message', (i) => [1, () => server.sendMessage({ from: peerOf(i), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: `again ${i}` })]],
            // Offline, so only the device's write and its views are involved.
            ['local read', (i) => [-1, () => service.markConversationRead(conversationOf(size - 1 - i))]],
          ];
          for (const [kind, changeOf] of kinds) {
            if (kind === 'local read') engine.disconnect();
            const samples = { both: [] as number[], total: [] as number[] };
            progress.start(`unread views ${size.toLocaleString('en-US')}, ${kind}`, changes + 1);
            for (let i = 0; i <= changes; i++) {
              const [delta, change] = changeOf(i);
              const [both, totalOnly] = await measureChange(delta, change);
              if (i === 0) {
                progress.tick('warm-up');
                continue;
              }
              samples.both.push(both);
              samples.total.push(totalOnly);
              progress.tick(`${both.toFixed(2)} ms`);
            }
            rows.push({ mode, change: kind, conversations: size, changes, updateMs: figure(samples.both), totalMs: figure(samples.total), ratioToSmallest: 1 });
            keep(rows);
          }
        } finally {
          for (const s of subscriptions) s.unsubscribe();
        }
      } finally {
        await engine.close();
        await server.close();
      }
    }
    for (const row of rows) {
      const base = rows.find((r) => r.change === row.change)?.updateMs.median ?? row.updateMs.median;
      row.ratioToSmallest = round(row.updateMs.median / base);
    }
    return rows;
  },
  columns: [
    { header: 'change', cell: (r) => r.change, right: false },
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'changes', cell: (r) => String(r.changes) },
    { header: 'total + filtered updated ms', cell: (r) => formatFigure(r.updateMs, '', 2) },
    { header: 'total updated ms', cell: (r) => formatFigure(r.totalMs, '', 2) },
    { header: 'vs smallest', cell: (r) => `${formatNumber(r.ratioToSmallest, 2)}×` },
  ],
  verdict(rows) {
    const parts: string[] = [];
    for (const kind of ['local read', 'incoming message'] as const) {
      const own = rows.filter((r) => r.change === kind);
      const first = own[0];
      const last = own[own.length - 1];
      if (first === undefined || last === undefined || own.length < 2) continue;
      const ratio = last.updateMs.median / first.updateMs.median;
      const label = `${kind}: ${last.conversations.toLocaleString('en-US')} / ${first.conversations.toLocaleString('en-US')} = ${formatNumber(ratio, 2)}×`;
      parts.push(ratio <= 2 ? `${label} (flat, met)` : `${label} (not flat: missed by ${formatNumber(ratio / 2, 2)}×)`);
    }
    return parts.length === 0 ? 'not measured' : parts.join('; ');
  },
});
