/**
 * Statistics of repeated measurements. Every figure the benchmarks publish is a `Figure`: the
 * median over several runs with the min and max, so one noisy run never becomes the headline.
 */

/** A measured quantity over `runs` repetitions. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number;
}

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new Error('a figure needs at least one sample');
  return [...samples].sort((a, b) => a - b);
}

/** The p-th percentile (0–100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  const s = sorted(samples);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank] as number;
}

/** The median, min and max of samples (the median of an even count is the mean of the middle two). */
export function figure(samples: readonly number[]): Figure {
  const s = sorted(samples);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median: round(median), min: round(s[0] as number), max: round(s[s.length - 1] as number), runs: s.length };
}

/** Rounds to 3 significant decimals for small values, whole units for large ones. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Formats a figure as `median (min–max)` with a unit. */
export function formatFigure(f: Figure | undefined, unit = '', digits?: number): string {
  if (f === undefined) return '—';
  const fmt = (n: number): string => formatNumber(n, digits);
  return `${fmt(f.median)}${unit} (${fmt(f.min)}–${fmt(f.max)})`;
}

/** A number for a table: thousands separated, a few decimals for small values. */
export function formatNumber(n: number, digits?: number): string {
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
