/**
 * Scenario 1: fresh-device sync. A server already holds N conversations of one account; a device
 * with an empty replica starts and syncs until it holds them all. Three systems on the same
 * documents, interleaved in each repetition so they share the machine's state:
 * - ConvSync: `createConversationEngine` against the real server, until `syncState$` is 'synced'
 *   and the replica's `totalUnreadCount$` counts every conversation (each has one unread);
 * - the floor: the same documents raw over socket.io plus a plain `bulkInsert` (lib/floor.ts);
 * - the peer: RxDB's `replication-websocket` with its defaults (lib/peer.ts).
 * Each clock starts before the device's database is created and stops when its data is complete.
 */
import type { ConversationDoc } from '@convsync/protocol';
import { barChart } from '../lib/chart.js';
import { convsyncFreshSync, engineAvailable } from '../lib/convsync.js';
import { floorSync, startFloorServer } from '../lib/floor.js';
import { peerSync, startPeerServer } from '../lib/peer.js';
import { freshStorage, STORAGE_KINDS, type StorageKind } from '../lib/rx.js';
import { defineScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { pullAll, seededServer } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, round, type Figure } from '../lib/stats.js';
import { now } from '../lib/time.js';

interface Row extends BaseRow {
  conversations: number;
  storage: StorageKind;
  convsyncMs: Figure | null;
  floorMs: Figure;
  peerMs: Figure;
  /** ConvSync time / floor time (median of the per-repetition ratios). */
  ratioToFloor: number | null;
  /** Peer time / ConvSync time (median of the per-repetition ratios). */
  speedupVsPeer: number | null;
  /** Why ConvSync has no figure (the engine is not there yet). */
  note?: string;
}

const PLAN: Record<Mode, { sizes: number[]; runs: (size: number) => number }> = {
  smoke: { sizes: [300], runs: () => 2 },
  quick: { sizes: [10_000], runs: () => 5 },
  // 100k: 3 runs of three systems on two storages take half an hour on a busy 2-CPU machine.
  full: { sizes: [10_000, 100_000], runs: (size) => (size >= 100_000 ? 2 : 5) },
};

function median(values: readonly number[]): number {
  return figure(values).median;
}

async function measure<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = now();
  const value = await fn();
  return { ms: now() - start, value };
}

export default defineScenario<Row>({
  name: 'fresh-sync',
  title: '1. Fresh-device sync (Node)',
  target: 'ConvSync ≤ 1.5× the floor and ≥ 5× faster than the peer',
  method: [
    'A server already holds N P2P conversations of one account (made by its own message ingest: each has a last',
    'message and one unread). A device with an empty replica syncs until it holds them all. ConvSync: the real',
    'server (SQLite) and `createConversationEngine`, until `syncState$` is `synced` and `totalUnreadCount$` equals N.',
    'Floor: the same documents (pulled from that server) sent raw over socket.io in pages of 2,000 plus a plain',
    '`bulkInsert` into the same storage. Peer: RxDB 17.6 `replication-websocket` with its defaults (`startWebsocketServer`',
    'over an RxDB memory database holding the same documents, `replicateWithWebsocketServer`). Storage: RxDB memory, and',
    'Dexie over a fresh fake-indexeddb per run. All servers run in the benchmark process; each clock starts before the',
    'device database is created. The three systems alternate within each repetition (after one untimed round up to',
    '20k); ratios are medians of the per-repetition ratios.',
  ].join(' '),
  async run({ mode, progress, log, keep }) {
    const plan = PLAN[mode];
    const rows: Row[] = [];
    const withEngine = await engineAvailable();
    if (!withEngine) log('fresh-sync: @convsync/engine is not available yet — measuring the floor and the peer only');
    for (const size of plan.sizes) {
      const server = await seededServer(size, progress);
      const docs: ConversationDoc[] = await pullAll(server);
      if (docs.length !== size) throw new Error(`seeded ${size} conversations but the server serves ${docs.length}`);
      const floor = await startFloorServer(docs);
      const peer = await startPeerServer(docs, 'here');
      try {
        for (const kind of STORAGE_KINDS) {
          const runs = plan.runs(size);
          const samples = { convsync: [] as number[], floor: [] as number[], peer: [] as number[] };
          progress.start(`fresh-sync ${size.toLocaleString('en-US')} ${kind}`, (runs + (size <= 20_000 ? 1 : 0)) * (withEngine ? 3 : 2));
          // One untimed round first (JIT, socket.io and RxDB code paths), where it is cheap.
          const first = size <= 20_000 ? -1 : 0;
          for (let run = first; run < runs; run++) {
            const record = run >= 0;
            const f = await measure(() => floorSync(floor.url, freshStorage(kind).storage));
            const floorCount = await f.value.conversations.count().exec();
            await f.value.db.remove();
            if (floorCount !== size) throw new Error(`floor stored ${floorCount} of ${size}`);
            if (record) samples.floor.push(f.ms);
            progress.tick(`floor ${Math.round(f.ms)} ms`);

            const p = await measure(() => peerSync(peer.url, freshStorage(kind)));
            const peerCount = await p.value.conversations.count().exec();
            await p.value.db.remove();
            if (peerCount !== size) throw new Error(`peer stored ${peerCount} of ${size}`);
            if (record) samples.peer.push(p.ms);
            progress.tick(`peer ${Math.round(p.ms)} ms`);

            if (withEngine) {
              const ms = await convsyncFreshSync({ server, storage: freshStorage(kind), expected: size });
              if (record) samples.convsync.push(ms);
              progress.tick(`convsync ${Math.round(ms)} ms`);
            }
          }
          const ratios = samples.convsync.map((c, i) => c / (samples.floor[i] as number));
          const speedups = samples.convsync.map((c, i) => (samples.peer[i] as number) / c);
          rows.push({
            mode,
            conversations: size,
            storage: kind,
            convsyncMs: withEngine ? figure(samples.convsync) : null,
            floorMs: figure(samples.floor),
            peerMs: figure(samples.peer),
            ratioToFloor: withEngine ? round(median(ratios)) : null,
            speedupVsPeer: withEngine ? round(median(speedups)) : null,
            ...(withEngine ? {} : { note: 'engine not available' }),
          });
          keep(rows);
        }
      } finally {
        await peer.close();
        await floor.close();
        await server.close();
      }
    }
    return rows;
  },
  columns: [
    { header: 'conversations', cell: (r) => r.conversations.toLocaleString('en-US') },
    { header: 'storage', cell: (r) => (r.storage === 'dexie' ? 'Dexie (fake-indexeddb)' : 'memory'), right: false },
    { header: 'ConvSync ms', cell: (r) => (r.convsyncMs === null ? '—' : formatFigure(r.convsyncMs, '', 0)) },
    { header: 'floor ms', cell: (r) => formatFigure(r.floorMs, '', 0) },
    { header: 'peer ms', cell: (r) => formatFigure(r.peerMs, '', 0) },
    { header: 'ratio to floor', cell: (r) => (r.ratioToFloor === null ? '—' : `${formatNumber(r.ratioToFloor, 2)}×`) },
    { header: 'speedup vs peer', cell: (r) => (r.speedupVsPeer === null ? '—' : `${formatNumber(r.speedupVsPeer, 2)}×`) },
  ],
  verdict(rows) {
    const measured = rows.filter((r) => r.ratioToFloor !== null && r.speedupVsPeer !== null);
    if (measured.length === 0) return 'ConvSync not measured yet (engine missing); floor and peer measured';
    const parts = measured.map((r) => {
      const floorOk = (r.ratioToFloor as number) <= 1.5;
      const peerOk = (r.speedupVsPeer as number) >= 5;
      const label = `${r.conversations.toLocaleString('en-US')} ${r.storage}`;
      return `${label}: ${formatNumber(r.ratioToFloor as number, 2)}× floor ${floorOk ? '(met)' : `(missed by ${formatNumber((r.ratioToFloor as number) / 1.5, 2)}×)`}, ` +
        `${formatNumber(r.speedupVsPeer as number, 2)}× faster than the peer ${peerOk ? '(met)' : `(missed: needs ${formatNumber(5 / (r.speedupVsPeer as number), 2)}× more)`}`;
    });
    return parts.join('; ');
  },
  chart(rows) {
    return barChart({
      title: 'Fresh-device sync: time until the replica holds every conversation (log scale, median with min–max)',
      unit: 'ms',
      groups: rows.map((r) => ({
        label: `${r.conversations >= 1000 ? `${r.conversations / 1000}k` : r.conversations} · ${r.storage}`,
        bars: [
          ...(r.convsyncMs === null ? [] : [{ series: 'ConvSync', ...r.convsyncMs }]),
          { series: 'floor', ...r.floorMs },
          { series: 'RxDB replication-websocket', ...r.peerMs },
        ],
      })),
    });
  },
});
