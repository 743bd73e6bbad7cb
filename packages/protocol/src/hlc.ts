/**
 * Hybrid logical clock (Kulkarni et al.). A stamp orders every user edit of an account across its
 * devices: wall time first, a counter for edits within one millisecond or behind a faster clock,
 * the device id to break the last tie. Stamps are fixed-width strings so that plain string order is
 * stamp order, and `''` (no edit yet) sorts below every stamp.
 *
 * The engine feeds the clock with its estimate of the server's time (device clock + offset measured
 * at connect), so a device whose own clock is a day off still stamps in line with the others.
 */
export type Stamp = string;

export const NO_STAMP: Stamp = '';

const WALL_DIGITS = 15;
const COUNTER_DIGITS = 6;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;
const STAMP_PATTERN = /^(\d{15})-(\d{6})-([A-Za-z0-9_.-]{1,64})$/;

export interface StampParts {
  wallMs: number;
  counter: number;
  deviceId: string;
}

export function formatStamp({ wallMs, counter, deviceId }: StampParts): Stamp {
  return `${String(wallMs).padStart(WALL_DIGITS, '0')}-${String(counter).padStart(COUNTER_DIGITS, '0')}-${deviceId}`;
}

export function parseStamp(stamp: Stamp): StampParts | null {
  const match = STAMP_PATTERN.exec(stamp);
  if (match === null) return null;
  return { wallMs: Number(match[1]), counter: Number(match[2]), deviceId: match[3] as string };
}

export function isStamp(value: unknown): value is Stamp {
  return typeof value === 'string' && (value === NO_STAMP || STAMP_PATTERN.test(value));
}

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value);
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareStamps(a: Stamp, b: Stamp): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxStamp(a: Stamp, b: Stamp): Stamp {
  return a >= b ? a : b;
}

export interface HlcOptions {
  deviceId: string;
  /** Milliseconds since the epoch; injected so tests and skewed devices are deterministic. */
  now?: () => number;
}

export class HybridLogicalClock {
  readonly deviceId: string;
  #now: () => number;
  #wallMs = 0;
  #counter = 0;

  constructor({ deviceId, now = Date.now }: HlcOptions) {
    if (!isDeviceId(deviceId)) throw new TypeError(`invalid device id for a clock: ${deviceId}`);
    this.deviceId = deviceId;
    this.#now = now;
  }

  /** A new stamp for a local edit, later than every stamp this clock has issued or seen. */
  tick(): Stamp {
    const wall = Math.floor(this.#now());
    if (wall > this.#wallMs) {
      this.#wallMs = wall;
      this.#counter = 0;
    } else {
      this.#bumpCounter();
    }
    return formatStamp({ wallMs: this.#wallMs, counter: this.#counter, deviceId: this.deviceId });
  }

  /** Takes a stamp seen from another device into account, so the next tick is after it. */
  receive(stamp: Stamp): void {
    const parts = parseStamp(stamp);
    if (parts === null) return;
    if (parts.wallMs > this.#wallMs) {
      this.#wallMs = parts.wallMs;
      this.#counter = parts.counter;
    } else if (parts.wallMs === this.#wallMs && parts.counter > this.#counter) {
      this.#counter = parts.counter;
    }
  }

  #bumpCounter(): void {
    if (this.#counter < MAX_COUNTER) {
      this.#counter++;
    } else {
      // A million edits in one millisecond: borrow the next millisecond rather than wrap.
      this.#wallMs++;
      this.#counter = 0;
    }
  }
}
