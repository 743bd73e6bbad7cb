/**
 * What a benchmark scenario is: one file in bench/scenarios/ exporting a `Scenario`. The runner
 * gives it the mode (smoke/quick/full) and a progress bar; it returns one row per measured
 * configuration, which the runner prints as a table, writes to bench/results/<name>.json and puts
 * into BENCHMARKS.md with the scenario's verdict on its target.
 */
import type { Progress } from './progress.js';
import type { Column } from './table.js';

/** `smoke`: tiny sizes for CI (proves the benches run); `quick`: the default set; `full`: large sizes. */
export type Mode = 'smoke' | 'quick' | 'full';

export interface ScenarioContext {
  mode: Mode;
  progress: Progress;
  /** A line on stderr (clears the progress bar first). */
  log: (message: string) => void;
  /** Hands over the rows measured so far: if the scenario later fails or runs out of time, they
   * are still written (marked partial) instead of losing a long run. */
  keep: (rows: readonly BaseRow[]) => void;
}

/** A scenario could not run here (a dependency is missing); the runner reports it and goes on. */
export class SkipScenario extends Error {
  override readonly name = 'SkipScenario';
}

/** Every row carries the mode it was measured in. */
export interface BaseRow {
  mode: Mode;
}

export interface Scenario<Row extends BaseRow = BaseRow> {
  /** File name of the results: bench/results/<name>.json. */
  name: string;
  /** Heading in BENCHMARKS.md, e.g. "1. Fresh-device sync". */
  title: string;
  /** The target of the issue, as text. */
  target: string;
  /** How it is measured (one paragraph for BENCHMARKS.md). */
  method: string;
  run(ctx: ScenarioContext): Promise<Row[]>;
  columns: readonly Column<Row>[];
  /** Whether the rows meet the target, and by how much they miss it. */
  verdict(rows: readonly Row[]): string;
  /** An optional SVG chart of the rows (written next to the results). */
  chart?(rows: readonly Row[]): string;
}

/** Erases a scenario's row type for the runner's list. */
export function defineScenario<Row extends BaseRow>(scenario: Scenario<Row>): Scenario<BaseRow> {
  return scenario as unknown as Scenario<BaseRow>;
}
