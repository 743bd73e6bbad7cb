/**
 * Structured logs: one JSON object per line with `time`, `level` and `msg`. Injected, so tests
 * stay silent and embedders can route lines anywhere.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Discards everything (the default of `startServer`). */
export const silentLogger: Logger = { log: () => undefined };

/** Writes JSON lines at or above `level` to `write` (default: stderr). */
export function jsonLogger(options: { level?: LogLevel; write?: (line: string) => void; now?: () => number } = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < min) return;
      let line: string;
      try {
        line = JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...fields });
      } catch {
        line = JSON.stringify({ time: new Date(now()).toISOString(), level, msg });
      }
      write(`${line}\n`);
    },
  };
}
