/**
 * Scenario 5: server ingest. Messages go through the server's own ingest (`server.sendMessage`,
 * the path a socket's `message:send` takes after parsing), many in flight:
 * - P2P messages between random pairs of 1,000 accounts, as messages/s;
 * - team messages to teams of 100 and 1,000 members, as member-conversation updates/s (each
 *   message rewrites every member's conversation: last message, unread, sort order, log position).
 * On SQLite (a fresh file per run, WAL) and, once the PostgreSQL store exists, on PostgreSQL in a
 * fresh schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationType } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { defineScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { inParallel } from '../lib/seed.js';
import { figure, formatFigure, formatNumber, type Figure } from '../lib/stats.js';
import { now } from '../lib/time.js';
import { postgresDatabase, type StoreKind } from '../lib/stores.js';

interface Row extends BaseRow {
  store: StoreKind;
  workload: string;
  members: number;
  messages: number;
  messagesPerSecond: Figure;
  /** Member-conversation documents rewritten per second (messages/s × members). */
  updatesPerSecond: Figure;
}

interface Workload {
  name: string;
  members: number;
  messages: number;
}

const PLAN: Record<Mode, { runs: number; workloads: Workload[] }> = {
  smoke: { runs: 2, workloads: [{ name: 'P2P', members: 2, messages: 200 }, { name: 'team of 100', members: 100, messages: 20 }] },
  quick: {
    runs: 3,
    workloads: [
      { name: 'P2P', members: 2, messages: 3_000 },
      { name: 'team of 100', members: 100, messages: 300 },
      { name: 'team of 1,000', members: 1_000, messages: 40 },
    ],
  },
  full: {
    runs: 3,
    workloads: [
      { name: 'P2P', members: 2, messages: 10_000 },
      { name: 'team of 100', members: 100, messages: 1_000 },
      { name: 'team of 1,000', members: 1_000, messages: 100 },
    ],
  },
};

const ACCOUNTS = 1_000;
const CONCURRENCY = 32;
const account = (i: number): string => `user${String(i).padStart(5, '0')}`;

/** Deterministic pseudo-random pairs, so every run and store ingests the same messages. */
function pairs(count: number): [number, number][] {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: count }, () => {
    const a = Math.floor(rand() * ACCOUNTS);
    const b = (a + 1 + Math.floor(rand() * (ACCOUNTS - 1))) % ACCOUNTS;
    return [a, b];
  });
}

async function runWorkload(server: ConvSyncServer, workload: Workload): Promise<number> {
  if (workload.name === 'P2P') {
    const list = pairs(workload.messages);
    const start = now();
    await inParallel(list.length, CONCURRENCY, (i) => {
      const [a, b] = list[i] as [number, number];
      return server.sendMessage({ from: account(a), conversationType: ConversationType.P2P, targetId: account(b), text: `message ${i}` });
    });
    return now() - start;
  }
  const teamId = `team${workload.members}`;
  const memberIds = Array.from({ length: workload.members }, (_, i) => account(i));
  await server.createTeam({ teamId, name: `Team of ${workload.members}`, memberIds });
  // The first message creates every member's conversation; the measured ones update them.
  await server.sendMessage({ from: account(0), conversationType: ConversationType.TEAM, targetId: teamId, text: 'hello team' });
  const start = now();
  await inParallel(workload.messages, CONCURRENCY, (i) =>
    server.sendMessage({ from: account(i % workload.members), conversationType: ConversationType.TEAM, targetId: teamId, text: `team message ${i}` }));
  return now() - start;
}

export default defineScenario<Row>({
  name: 'ingest',
  title: '5. Server ingest',
  target: '≥ 10,000 member-conversation updates/s on SQLite',
  method: [
    'Messages go through the server\'s ingest (`server.sendMessage`: the path of a socket\'s `message:send` after',
    `parsing), ${CONCURRENCY} in flight, no devices connected. P2P: random pairs among ${ACCOUNTS.toLocaleString('en-US')} accounts (each message`,
    'writes the message and both conversations). Teams: every message rewrites each member\'s conversation (last',
    'message, unread, sort order, change-log position) in one transaction; the team and its conversations exist before',
    'the clock starts. A fresh database per run: SQLite in a temporary file (WAL), PostgreSQL in a fresh schema.',
  ].join(' '),
  async run({ mode, progress, log }) {
    const plan = PLAN[mode];
    const rows: Row[] = [];
    const stores: StoreKind[] = ['sqlite', 'postgres'];
    for (const store of stores) {
      for (const workload of plan.workloads) {
        const samples: number[] = [];
        progress.start(`ingest ${store} ${workload.name}`, plan.runs);
        for (let run = 0; run < plan.runs; run++) {
          const dir = mkdtempSync(join(tmpdir(), 'convsync-ingest-'));
          let database: { url: string; drop: () => Promise<void> } | undefined;
          try {
            if (store === 'postgres') {
              database = await postgresDatabase();
              if (database === undefined) break;
            }
            let server: ConvSyncServer;
            try {
              server = await startServer({ database: database?.url ?? join(dir, 'ingest.sqlite') });
            } catch (error) {
              log(`ingest: ${store} store unavailable (${error instanceof Error ? error.message : String(error)})`);
              break;
            }
            try {
              const ms = await runWorkload(server, workload);
              samples.push(workload.messages / (ms / 1000));
              progress.tick(`${Math.round(workload.messages / (ms / 1000))} msg/s`);
            } finally {
              await server.close();
            }
          } finally {
            await database?.drop();
            rmSync(dir, { recursive: true, force: true });
          }
        }
        if (samples.length === 0) break;
        const messagesPerSecond = figure(samples);
        rows.push({
          mode,
          store,
          workload: workload.name,
          members: workload.members,
          messages: workload.messages,
          messagesPerSecond,
          updatesPerSecond: figure(samples.map((s) => s * workload.members)),
        });
      }
    }
    return rows;
  },
  columns: [
    { header: 'store', cell: (r) => (r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'), right: false },
    { header: 'workload', cell: (r) => r.workload, right: false },
    { header: 'messages/run', cell: (r) => r.messages.toLocaleString('en-US') },
    { header: 'messages/s', cell: (r) => formatFigure(r.messagesPerSecond, '', 0) },
    { header: 'member-conversation updates/s', cell: (r) => formatFigure(r.updatesPerSecond, '', 0) },
  ],
  verdict(rows) {
    const teams = rows.filter((r) => r.store === 'sqlite' && r.members >= 100);
    if (teams.length === 0) return 'not measured';
    const worst = Math.min(...teams.map((r) => r.updatesPerSecond.median));
    const text = teams.map((r) => `${r.workload}: ${formatNumber(r.updatesPerSecond.median, 0)}/s`).join(', ');
    return worst >= 10_000
      ? `met on SQLite (${text})`
      : `missed on SQLite: ${text}; the slowest is ${formatNumber(10_000 / worst, 2)}× short of 10,000/s`;
  },
});
