/**
 * Structured logs: one JSON object per line (pino) with `time`, `level` and `msg`. Injected, so
 * tests stay silent and embedders can route lines anywhere: `startServer({ logger })` takes either
 * this package's `Logger` (`log(level, msg, fields)`) or a pino logger (or anything shaped like
 * one); the server only ever talks to a `Logger`.
 */
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /**
   * A logger whose lines also carry `bindings` (a socket's account and device). Optional: without
   * it, `childLogger` merges the bindings into each line's fields.
   */
  child?(bindings: Record<string, unknown>): Logger;
}

/** The part of a pino logger the server uses; a pino `Logger` satisfies it. */
export interface PinoCompatibleLogger {
  debug(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  error(fields: object, msg?: string): void;
  child(bindings: Record<string, unknown>): PinoCompatibleLogger;
}

/** Discards everything (the default of `startServer`). */
export const silentLogger: Logger = { log: () => undefined, child: () => silentLogger };

/** A `Logger` writing through a pino (or pino-shaped) logger. */
export function fromPino(target: PinoCompatibleLogger): Logger {
  return {
    log: (level, msg, fields = {}) => target[level](fields, msg),
    child: (bindings) => fromPino(target.child(bindings)),
  };
}

function isPinoCompatible(logger: Logger | PinoCompatibleLogger): logger is PinoCompatibleLogger {
  const candidate = logger as Partial<PinoCompatibleLogger> & Partial<Logger>;
  return typeof candidate.log !== 'function' && typeof candidate.info === 'function' && typeof candidate.child === 'function';
}

/** Either kind of injected logger as the server's `Logger`. */
export function toLogger(logger: Logger | PinoCompatibleLogger): Logger {
  return isPinoCompatible(logger) ? fromPino(logger) : logger;
}

/** `logger` with `bindings` on every line: its own `child` when it has one, else merged fields. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (logger.child !== undefined) return logger.child(bindings);
  return {
    log: (level, msg, fields = {}) => logger.log(level, msg, { ...bindings, ...fields }),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}

export interface PinoLoggerOptions {
  /** Lines below this level are dropped (default `info`; `silent` drops everything). */
  level?: LogLevel | 'silent';
  /** Where lines go (default: stderr, synchronously, so nothing is lost when the process exits). */
  destination?: DestinationStream;
  /** Injected clock for `time` (ms since the epoch). */
  now?: () => number;
}

/**
 * The server's own pino logger: JSON lines with an ISO `time`, the level as a word, `pid`,
 * `hostname` and `msg`, plus the fields of the call.
 */
export function pinoLogger(options: PinoLoggerOptions = {}): Logger {
  const now = options.now;
  return fromPino(pino({
    level: options.level ?? 'info',
    formatters: { level: (label) => ({ level: label }) },
    timestamp: now === undefined ? stdTimeFunctions.isoTime : () => `,"time":"${new Date(now()).toISOString()}"`,
  }, options.destination ?? pino.destination({ fd: 2, sync: true })));
}

/** Writes JSON lines at or above `level` to `write` (default: stderr). A `pinoLogger` underneath. */
export function jsonLogger(options: { level?: LogLevel; write?: (line: string) => void; now?: () => number } = {}): Logger {
  const write = options.write;
  return pinoLogger({
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(write === undefined ? {} : { destination: { write: (line: string) => write(line) } }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
