/**
 * Tables as Markdown: the same text is printed to the terminal and written into BENCHMARKS.md, so
 * what a reader sees in the document is exactly what the run printed.
 */

/** One column: its header and how to render a row's cell. */
export interface Column<Row> {
  header: string;
  cell: (row: Row) => string;
  /** Right-align (numbers). Default true except for the first column. */
  right?: boolean;
}

/** Renders rows as a Markdown table with padded columns. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => c.cell(row).replaceAll('|', '\\|')));
  const widths = columns.map((c, i) => Math.max(3, c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const right = columns.map((c, i) => c.right ?? i > 0);
  const pad = (text: string, i: number): string =>
    right[i] === true ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0);
  const line = (values: readonly string[]): string => `| ${values.map((v, i) => pad(v, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] === true ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(columns.map((c) => c.header)), rule, ...cells.map((r) => line(r))].join('\n');
}
