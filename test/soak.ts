/**
 * `pnpm soak`: convergence runs under faults for as long as asked, with random seeds.
 *
 *   pnpm soak                 1,000 runs (the default; at least 20 server kills among them)
 *   pnpm soak --runs 5000
 *   pnpm soak --minutes 30
 *   pnpm soak --seed 42       replay one failing seed
 *   pnpm soak --json out.json also write the summary as JSON
 *   pnpm soak --engines 10    run 10 % of the runs with real engines in worker threads
 *                             (slower: each engine compiles and opens its replica)
 *   pnpm soak --engines 100 --tabs 3
 *                             each engine device is 3 engines sharing one replica, as the tabs
 *                             of a browser profile (one elected to sync; the oldest tab closes
 *                             and a new one opens every few operations)
 *
 * Each run draws a scenario from a random seed (2–5 devices of 1–3 accounts, user operations and
 * faults, server kills and crash points included) and checks every invariant of issue 4 after
 * the system heals. A failing run is shrunk by fast-check and printed with its seed; the soak
 * exits non-zero if any run failed or the server crashed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Cluster } from './harness/cluster.js';
import { runEngineScenario } from './harness/engine-run.js';
import { runScenario, type RunResult } from './harness/run.js';
import { scenarioArbitrary } from './harness/scenario.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    minutes: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'string' },
    'max-ops': { type: 'string' },
    engines: { type: 'string' },
    tabs: { type: 'string' },
  },
  strict: true,
});
const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
const maxRuns = values.seed !== undefined ? 1 : values.runs !== undefined ? Number(values.runs) : minutes === undefined ? 1000 : Number.POSITIVE_INFINITY;
const deadline = minutes === undefined ? Number.POSITIVE_INFINITY : Date.now() + minutes * 60_000;
const MIN_KILLS = 20;
const enginePercent = Number(values.engines ?? 0);
const tabs = values.tabs === undefined ? undefined : Number(values.tabs);
if (tabs !== undefined && !(Number.isInteger(tabs) && tabs >= 1 && tabs <= 3)) throw new Error('--tabs must be 1 to 3 (RxDB allows 13 open collections per worker)');

/** The figures of a run that the soak adds up. */
const COUNTED = [
  'devices', 'accounts', 'ops', 'faults', 'writesChecked', 'messagesChecked',
  'divergent', 'lost', 'duplicated', 'unreadMismatches', 'readTimeRegressions', 'crashes',
] as const satisfies readonly (keyof RunResult)[];

type Totals = Record<(typeof COUNTED)[number] | 'runs' | 'engineRuns' | 'failedRuns', number>;

const totals: Totals = { runs: 0, engineRuns: 0, failedRuns: 0, ...Object.fromEntries(COUNTED.map((key) => [key, 0])) } as Totals;
const failures: { seed: number; report: string }[] = [];

function progress(cluster: Cluster, started: number): void {
  const elapsed = (Date.now() - started) / 1000;
  const fraction = Number.isFinite(maxRuns) ? totals.runs / maxRuns : Math.min(1, (Date.now() - started) / (deadline - started));
  const width = 30;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
  const line = `${bar} runs ${totals.runs} failed ${totals.failedRuns} kills ${cluster.kills} crash points ${cluster.crashPointsFired} writes ${totals.writesChecked} ${elapsed.toFixed(0)}s`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
  else if (totals.runs % 10 === 0) console.log(line);
}

/** Set on SIGINT/SIGTERM: the soak stops after the current run and still prints its summary. */
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});
process.once('SIGTERM', () => {
  interrupted = true;
});

async function main(): Promise<void> {
  const cluster = new Cluster();
  await cluster.start();
  const started = Date.now();
  const arbitrary = scenarioArbitrary({ minOps: 10, maxOps: Number(values['max-ops'] ?? 40) });
  const engineArbitrary = scenarioArbitrary({ minOps: 8, maxOps: Math.min(20, Number(values['max-ops'] ?? 20)) });
  try {
    while (totals.runs < maxRuns && Date.now() < deadline && !interrupted) {
      const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
      let last: RunResult | undefined;
      let firstError = '';
      const withEngines = Math.random() * 100 < enginePercent;
      if (withEngines) totals.engineRuns++;
      const property = fc.asyncProperty(withEngines ? engineArbitrary : arbitrary, async (scenario) => {
        const result = withEngines ? await runEngineScenario(cluster, scenario, tabs === undefined ? {} : { tabs }) : await runScenario(cluster, scenario);
        last ??= result;
        if (result.failures.length > 0 || result.crashes > 0) {
          throw new Error(`${result.failures.slice(0, 10).join('\n')}${result.crashes > 0 ? `\nserver crashed ${result.crashes} time(s)` : ''}`);
        }
      });
      // First the run itself (reported at once), then, if it failed, the shrinking.
      const first = await fc.check(property, { seed, numRuns: 1, timeout: 180_000, endOnFailure: true });
      totals.runs++;
      if (first.failed) {
        totals.failedRuns++;
        firstError = String(first.errorInstance);
        console.log(`\nFAILED seed ${seed} (replay: pnpm soak --seed ${seed}${withEngines ? ` --engines 100${tabs === undefined ? '' : ` --tabs ${tabs}`}` : ''})\n${firstError}\nshrinking…`);
        const shrunk = await fc.check(property, { seed, numRuns: 1, timeout: 180_000, interruptAfterTimeLimit: 5 * 60_000 });
        const report = fc.defaultReportMessage(shrunk) ?? firstError;
        failures.push({ seed, report });
        console.log(`${report}\n`);
      }
      // The first (unshrunk) execution is the one that counts for the figures.
      if (last !== undefined) {
        for (const key of COUNTED) totals[key] += last[key];
      }
      progress(cluster, started);
    }
  } finally {
    await cluster.close();
  }
  const summary = {
    ...totals,
    serverKills: cluster.kills,
    crashPointsArmed: cluster.crashPointsArmed,
    crashPointsFired: cluster.crashPointsFired,
    proxy: cluster.proxy?.stats,
    minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
    failures,
  };
  console.log('\n\nsoak summary');
  console.log(`  runs               ${summary.runs} (${summary.engineRuns} with real engines, ${summary.failedRuns} failed) in ${summary.minutes} min`);
  console.log(`  devices            ${summary.devices} over ${summary.accounts} accounts, ${summary.ops} operations`);
  console.log(`  faults injected    ${summary.faults} (server kills ${summary.serverKills}, crash points fired ${summary.crashPointsFired}/${summary.crashPointsArmed})`);
  console.log(`  writes checked     ${summary.writesChecked}, messages checked ${summary.messagesChecked}`);
  console.log(`  divergent          ${summary.divergent}`);
  console.log(`  lost               ${summary.lost}`);
  console.log(`  duplicated         ${summary.duplicated}`);
  console.log(`  unread mismatches  ${summary.unreadMismatches}`);
  console.log(`  read time moved back ${summary.readTimeRegressions}`);
  console.log(`  crashes            ${summary.crashes}`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  const tooFewKills = values.seed === undefined && values.runs === undefined && minutes === undefined && summary.serverKills < MIN_KILLS;
  if (tooFewKills) console.log(`  WARNING: only ${summary.serverKills} server kills (the default soak wants ${MIN_KILLS})`);
  process.exitCode = summary.failedRuns > 0 || summary.crashes > 0 || tooFewKills ? 1 : 0;
}

// Exit explicitly: a socket.io client of the last run may keep the event loop alive.
main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
