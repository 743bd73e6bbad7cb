/**
 * Scenario 3: propagation. Two engines of one account (devices A and B, memory storage, in this
 * process) and a server in its own process; a crowd of protocol-level devices in a third process
 * stays connected (10 % of them on the same account, so they also receive every change; the rest
 * on other accounts). A pins or unpins a conversation on A; the clock runs until B's
 * `conversation$` emits the new state.
 */
import { createEngine, deviceOptions, engineAvailable, untilSynced, type BenchEngine } from '../lib/convsync.js';
import { startCrowd } from '../lib/crowd.js';
import { freshStorage } from '../lib/rx.js';
import { defineScenario, SkipScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { ACCOUNT, conversationOf } from '../lib/seed.js';
import { startServerProcess } from '../lib/server-process.js';
import { figure, formatFigure, formatNumber, percentile, type Figure } from '../lib/stats.js';
import { now, waitFor } from '../lib/time.js';

interface Row extends BaseRow {
  /** Other devices connected. */
  crowd: number;
  /** Of which on the same account as A and B. */
  crowdSameAccount: number;
  changesPerRun: number;
  p50Ms: Figure;
  p99Ms: Figure;
  maxMs: Figure;
}

const PLAN: Record<Mode, { crowds: number[]; runs: number; changes: number }> = {
  smoke: { crowds: [1, 20], runs: 1, changes: 20 },
  quick: { crowds: [1, 100, 1_000], runs: 3, changes: 100 },
  full: { crowds: [1, 100, 1_000], runs: 3, changes: 300 },
};

const CONVERSATIONS = 50;
const TARGET_P99_MS = 25;

async function oneChange(a: BenchEngine, b: BenchEngine, conversationId: string, stickTop: boolean): Promise<number> {
  const start = now();
  const seen = waitFor(b.conversationService.conversation$(conversationId), (c) => c?.stickTop === stickTop, 10_000, 'B to see the change');
  await a.conversationService.stickTopConversation(conversationId, stickTop);
  await seen;
  return now() - start;
}

export default defineScenario<Row>({
  name: 'propagation',
  title: '3. Propagation between devices',
  target: `p99 ≤ ${TARGET_P99_MS} ms with 1,000 other devices connected`,
  method: [
    'The server runs in its own process (SQLite in memory), devices A and B (engines of one account, memory storage) in',
    'the benchmark process, and the crowd of protocol-level socket.io devices in a third process: 10 % of the crowd',
    'is on the same account (they receive every change too), the rest on other accounts (idle). A pins or unpins one',
    'of 50 conversations (`stickTopConversation`); the clock runs from the call on A until B\'s `conversation$`',
    'emits the new pin state. Changes are sequential. p50/p99/max are taken per run; the table shows their median',
    'over the runs (min–max).',
  ].join(' '),
  async run({ mode, progress, keep }) {
    if (!(await engineAvailable())) throw new SkipScenario('@convsync/engine is not available yet');
    const plan = PLAN[mode];
    const rows: Row[] = [];
    // 100 devices of one account connect at once: a server sized for that (docs/SCALING.md "Limits
    // and how to size them"); the default, 60 handshakes per account per 10 s, refuses the crowd.
    const server = await startServerProcess({ limits: { handshakesPerAccount: { points: 1_000, durationSeconds: 10 } } });
    const crowd = await startCrowd();
    let a: BenchEngine | undefined;
    let b: BenchEngine | undefined;
    try {
      await server.seedP2P(ACCOUNT, CONVERSATIONS);
      const [token] = await server.issueTokens([ACCOUNT]);
      a = await createEngine(deviceOptions(server.url, token as string, freshStorage('memory')));
      b = await createEngine(deviceOptions(server.url, token as string, freshStorage('memory')));
      await Promise.all([untilSynced(a, CONVERSATIONS), untilSynced(b, CONVERSATIONS)]);
      let connected = 0;
      let pinned = false;
      for (const size of plan.crowds) {
        const same = Math.floor(size / 10);
        const others = Array.from({ length: size - same }, (_, i) => `other${Math.floor(i / 2)}`);
        const tokens = await server.issueTokens([...Array.from({ length: same }, () => ACCOUNT), ...others]);
        await crowd.disconnectAll();
        connected = await crowd.connect(server.url, tokens);
        if (connected !== size) throw new Error(`crowd of ${connected}, expected ${size}`);
        const stats = { p50: [] as number[], p99: [] as number[], max: [] as number[] };
        progress.start(`propagation, crowd ${size.toLocaleString('en-US')}`, plan.runs);
        for (let run = 0; run < plan.runs; run++) {
          const samples: number[] = [];
          for (let i = 0; i < plan.changes + 2; i++) {
            const id = conversationOf(i % CONVERSATIONS);
            if (i % CONVERSATIONS === 0) pinned = !pinned;
            const ms = await oneChange(a, b, id, pinned);
            if (i >= 2) samples.push(ms); // the first two warm the path up
          }
          stats.p50.push(percentile(samples, 50));
          stats.p99.push(percentile(samples, 99));
          stats.max.push(Math.max(...samples));
          progress.tick(`p99 ${percentile(samples, 99).toFixed(1)} ms`);
        }
        rows.push({
          mode,
          crowd: size,
          crowdSameAccount: same,
          changesPerRun: plan.changes,
          p50Ms: figure(stats.p50),
          p99Ms: figure(stats.p99),
          maxMs: figure(stats.max),
        });
        keep(rows);
      }
      if ((await crowd.streamEvents()) === 0 && plan.crowds.some((c) => c >= 10)) {
        throw new Error('the same-account crowd received no stream event: the fan-out was not exercised');
      }
    } finally {
      await a?.close();
      await b?.close();
      await crowd.close();
      await server.close();
    }
    return rows;
  },
  columns: [
    { header: 'other devices', cell: (r) => r.crowd.toLocaleString('en-US') },
    { header: 'of which same account', cell: (r) => r.crowdSameAccount.toLocaleString('en-US') },
    { header: 'changes/run', cell: (r) => String(r.changesPerRun) },
    { header: 'p50 ms', cell: (r) => formatFigure(r.p50Ms, '', 1) },
    { header: 'p99 ms', cell: (r) => formatFigure(r.p99Ms, '', 1) },
    { header: 'max ms', cell: (r) => formatFigure(r.maxMs, '', 1) },
  ],
  verdict(rows) {
    const row = rows.find((r) => r.crowd === 1_000) ?? rows[rows.length - 1];
    if (row === undefined) return 'not measured';
    const p99 = row.p99Ms.median;
    const at = `${row.crowd.toLocaleString('en-US')} other devices`;
    return p99 <= TARGET_P99_MS
      ? `met: p99 ${formatNumber(p99, 1)} ms ≤ ${TARGET_P99_MS} ms with ${at}`
      : `missed: p99 ${formatNumber(p99, 1)} ms is ${formatNumber(p99 / TARGET_P99_MS, 2)}× the ${TARGET_P99_MS} ms target with ${at}`;
  },
});

