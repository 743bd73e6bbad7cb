/**
 * The benchmark runner: `pnpm bench` (quick set), `--full` (large sizes), `--smoke` (tiny sizes for
 * CI: proves every benchmark runs, never fails on a missed target, publishes nothing),
 * `--only <scenario>[,<scenario>]`, `--report-only` (regenerate BENCHMARKS.md from the saved results). Each scenario prints its table (with a progress bar while it
 * runs) and writes bench/results/<scenario>.json; quick and full runs regenerate BENCHMARKS.md.
 *
 * A scenario that throws fails the run (exit 1): a benchmark that cannot run is broken. One whose
 * dependency is missing here (e.g. no Chromium) is skipped with its reason.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { describeMachine, formatMachine } from './lib/machine.js';
import { Progress } from './lib/progress.js';
import { recordRun, writeRows, writeSvg } from './lib/results.js';
import { writeReport } from './lib/report.js';
import { SkipScenario, type BaseRow, type Mode } from './lib/scenario.js';
import { renderTable } from './lib/table.js';
import { withTimeout } from './lib/time.js';
import { scenarios } from './scenarios/index.js';

/** A scenario's budget per mode: a hung benchmark must end the run, not stall CI. */
const BUDGET_MS: Record<Mode, number> = { smoke: 60_000, quick: 900_000, full: 2_700_000 };

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean' },
      full: { type: 'boolean' },
      only: { type: 'string', multiple: true },
      'report-only': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`usage: pnpm bench [--smoke | --full] [--only <scenario>[,<scenario>]] | --report-only (BENCHMARKS.md from the saved results)\nscenarios: ${scenarios.map((s) => s.name).join(', ')}\n`);
    return 0;
  }
  if (values['report-only'] === true) {
    process.stdout.write(`report: ${writeReport(scenarios)}\n`);
    return 0;
  }
  if (values.smoke === true && values.full === true) throw new Error('--smoke and --full exclude each other');
  const mode: Mode = values.smoke === true ? 'smoke' : values.full === true ? 'full' : 'quick';
  const only = (values.only ?? []).flatMap((o) => o.split(',')).map((o) => o.trim()).filter((o) => o !== '');
  const unknown = only.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  const selected = only.length === 0 ? scenarios : scenarios.filter((s) => only.includes(s.name));

  const machine = describeMachine();
  const progress = new Progress();
  const log = (message: string): void => {
    progress.clear();
    process.stderr.write(`${message}\n`);
  };
  process.stdout.write(`ConvSync benchmarks — ${mode} mode\n${formatMachine(machine)}\n`);
  let failures = 0;
  for (const scenario of selected) {
    process.stdout.write(`\n## ${scenario.title}\ntarget: ${scenario.target}\n`);
    const started = performance.now();
    const measuredAt = new Date().toISOString();
    const loadBefore = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    const load = (): [number, number] => [loadBefore, Math.round((loadavg()[0] ?? 0) * 100) / 100];
    let kept: readonly BaseRow[] = [];
    try {
      const rows = await withTimeout(scenario.run({ mode, progress, log, keep: (partial) => { kept = [...partial]; } }), BUDGET_MS[mode], `scenario ${scenario.name}`);
      progress.clear();
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`\n${renderTable(scenario.columns, rows)}\n\nverdict: ${scenario.verdict(rows)}\n(${seconds.toFixed(1)} s)\n`);
      const path = writeRows(scenario.name, mode, rows);
      process.stdout.write(`rows: ${path}\n`);
      if (mode !== 'smoke') {
        if (scenario.chart !== undefined) process.stdout.write(`chart: ${writeSvg(scenario.name, scenario.chart(rows))}\n`);
        recordRun(machine, scenario.name, { mode, measuredAt, seconds, load: load() });
      }
    } catch (error) {
      progress.clear();
      const seconds = (performance.now() - started) / 1000;
      if (error instanceof SkipScenario) {
        process.stdout.write(`skipped: ${error.message}\n`);
        if (mode !== 'smoke') recordRun(machine, scenario.name, { mode, measuredAt, seconds, load: load(), skipped: error.message });
        continue;
      }
      failures++;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stdout.write(`FAILED: ${message}\n`);
      if (kept.length > 0) {
        process.stdout.write(`\n${renderTable(scenario.columns, kept)}\n(partial: the rows measured before the failure)\nrows: ${writeRows(scenario.name, mode, kept)}\n`);
        if (mode !== 'smoke' && scenario.chart !== undefined) writeSvg(scenario.name, scenario.chart(kept));
      }
      const reason = `${error instanceof Error ? error.message : String(error)}${kept.length > 0 ? ' (the rows shown were measured before it)' : ''}`;
      if (mode !== 'smoke') recordRun(machine, scenario.name, { mode, measuredAt, seconds, load: load(), failed: reason });
    }
  }
  if (mode !== 'smoke') process.stdout.write(`\nreport: ${writeReport(scenarios)}\n`);
  return failures === 0 ? 0 : 1;
}

main().then(
  // Exit explicitly: a benchmark that leaked a handle must not hang CI after its figures are out.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
