/**
 * A grouped horizontal bar chart as SVG, written by hand (no chart library): one group per
 * configuration (e.g. "10k · memory"), one bar per system, min–max whiskers, on a log scale so a
 * 50 ms floor and a 10 s peer both stay readable.
 */

export interface Bar {
  series: string;
  median: number;
  min: number;
  max: number;
}

export interface BarGroup {
  label: string;
  bars: readonly Bar[];
}

export interface ChartOptions {
  title: string;
  unit: string;
  groups: readonly BarGroup[];
}

const PALETTE = ['#2563eb', '#64748b', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function label(value: number, unit: string): string {
  const text = value >= 100 ? Math.round(value).toLocaleString('en-US') : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return `${text} ${unit}`;
}

/** Renders the chart; deterministic for equal input (so a re-run without changes diffs clean). */
export function barChart({ title, unit, groups }: ChartOptions): string {
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.min, b.max, b.median])).filter((v) => v > 0);
  // The axis spans the decades the data covers (at least one), so bars use the whole width.
  const lo = Math.floor(Math.log10(values.length === 0 ? 1 : Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(values.length === 0 ? 10 : Math.max(...values))));
  const left = 150;
  const plotWidth = 560;
  const barHeight = 16;
  const gap = 4;
  const groupGap = 18;
  const top = 56;
  const x = (v: number): number => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plotWidth;
  const parts: string[] = [];
  let y = top;
  for (const group of groups) {
    const height = group.bars.length * (barHeight + gap);
    parts.push(`<text x="${left - 8}" y="${y + height / 2}" text-anchor="end" dominant-baseline="middle" font-weight="600">${escape(group.label)}</text>`);
    for (const bar of group.bars) {
      const color = PALETTE[series.indexOf(bar.series) % PALETTE.length] ?? '#000';
      const w = Math.max(1, x(bar.median) - left);
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}" rx="2"/>`);
      const wy = y + barHeight / 2;
      parts.push(`<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${wy}" y2="${wy}" stroke="#111" stroke-width="1"/>`);
      parts.push(`<text x="${(x(bar.max) + 6).toFixed(1)}" y="${wy}" dominant-baseline="middle" font-size="11">${escape(`${bar.series}: ${label(bar.median, unit)}`)}</text>`);
      y += barHeight + gap;
    }
    y += groupGap;
  }
  const bottom = y;
  const grid: string[] = [];
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p);
    grid.push(`<line x1="${gx.toFixed(1)}" x2="${gx.toFixed(1)}" y1="${top - 6}" y2="${bottom - groupGap}" stroke="#e5e7eb"/>`);
    grid.push(`<text x="${gx.toFixed(1)}" y="${bottom - groupGap + 14}" text-anchor="middle" font-size="11" fill="#555">${escape(label(10 ** p, unit))}</text>`);
  }
  const legend = series.map((s, i) => {
    const lx = left + i * 150;
    return `<rect x="${lx}" y="30" width="12" height="12" fill="${PALETTE[i % PALETTE.length] ?? '#000'}"/><text x="${lx + 18}" y="40" font-size="12">${escape(s)}</text>`;
  });
  const width = left + plotWidth + 290;
  const height = bottom + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="700">${escape(title)}</text>`,
    ...legend,
    ...grid,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
