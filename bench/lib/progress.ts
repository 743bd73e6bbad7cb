/**
 * A progress bar on stderr while a scenario runs, so a long benchmark shows it is alive. On a
 * terminal it redraws one line; elsewhere (CI logs) it prints a line at each 25 % step instead of
 * flooding the log.
 */
export class Progress {
  #label = '';
  #total = 1;
  #done = 0;
  #lastQuarter = -1;
  readonly #tty: boolean;
  readonly #stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#tty = stream.isTTY;
  }

  /** Starts a new bar of `total` steps. */
  start(label: string, total: number): void {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#done = 0;
    this.#lastQuarter = -1;
    this.#draw();
  }

  /** Advances the bar; `note` shows what just finished. */
  tick(note = ''): void {
    this.#done = Math.min(this.#total, this.#done + 1);
    this.#draw(note);
  }

  /** Clears the bar (before a table is printed). */
  clear(): void {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
  }

  #draw(note = ''): void {
    const fraction = this.#done / this.#total;
    if (this.#tty) {
      const width = 28;
      const full = Math.round(fraction * width);
      const bar = `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
      const text = `${this.#label} ${bar} ${this.#done}/${this.#total} ${note}`;
      const columns = this.#stream.columns;
      this.#stream.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter !== this.#lastQuarter) {
      this.#lastQuarter = quarter;
      this.#stream.write(`  ${this.#label}: ${this.#done}/${this.#total} ${note}\n`);
    }
  }
}
