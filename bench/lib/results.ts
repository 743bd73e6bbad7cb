/**
 * Result files: bench/results/<scenario>.json holds a JSON array with one object per measured row
 * (so targets can be checked mechanically, e.g. `ratioToFloor` of fresh-sync), and
 * bench/results/runs.json records when, in which mode and on which machine each scenario last ran.
 * Smoke runs write `<scenario>.smoke.tmp.json` (ignored by git) and never touch the published files.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from './machine.js';
import type { BaseRow, Mode } from './scenario.js';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export interface ScenarioRun {
  mode: Mode;
  measuredAt: string;
  seconds: number;
  /** The machine's 1-minute load average when the scenario started and ended (other work running). */
  load?: [number, number];
  /** Why it did not run, when it did not. */
  skipped?: string;
  failed?: string;
}

export interface RunsFile {
  machine: Machine;
  scenarios: Record<string, ScenarioRun>;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function resultsPath(name: string, mode: Mode): string {
  return join(RESULTS_DIR, mode === 'smoke' ? `${name}.smoke.tmp.json` : `${name}.json`);
}

export function writeRows(name: string, mode: Mode, rows: readonly BaseRow[]): string {
  const path = resultsPath(name, mode);
  writeAtomic(path, `${JSON.stringify(rows, null, 2)}\n`);
  return path;
}

/** The published rows of a scenario (our own output, so trusted), or undefined when it never ran. */
export function readRows(name: string): BaseRow[] | undefined {
  const path = resultsPath(name, 'quick');
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as BaseRow[];
}

export function writeSvg(name: string, svg: string): string {
  const path = join(RESULTS_DIR, `${name}.svg`);
  writeAtomic(path, svg);
  return path;
}

const RUNS_PATH = join(RESULTS_DIR, 'runs.json');

export function readRuns(): RunsFile | undefined {
  if (!existsSync(RUNS_PATH)) return undefined;
  return JSON.parse(readFileSync(RUNS_PATH, 'utf8')) as RunsFile;
}

export function recordRun(machine: Machine, name: string, run: ScenarioRun): void {
  const runs = readRuns() ?? { machine, scenarios: {} };
  runs.machine = machine;
  runs.scenarios[name] = run;
  writeAtomic(RUNS_PATH, `${JSON.stringify(runs, null, 2)}\n`);
}
