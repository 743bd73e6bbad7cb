/**
 * The engine's clock: the device clock corrected by the offset to the server's clock measured at
 * each connect (`session:info`), so read times, stamps and provisional times line up with the
 * server even on a device whose own clock is a day off. Every edit stamp comes from here.
 */
import { HybridLogicalClock, type Stamp } from '@convsync/protocol';

export interface EngineClockOptions {
  deviceId: string;
  /** The device clock; injected for tests and skew simulation. */
  now?: () => number;
  /** The last known offset (server − device), persisted across cold starts. */
  offsetMs?: number;
}

export class EngineClock {
  readonly #deviceNow: () => number;
  #offsetMs: number;
  readonly #hlc: HybridLogicalClock;

  constructor({ deviceId, now = Date.now, offsetMs = 0 }: EngineClockOptions) {
    this.#deviceNow = now;
    this.#offsetMs = offsetMs;
    this.#hlc = new HybridLogicalClock({ deviceId, now: () => this.now() });
  }

  /** The estimated server time (ms). */
  now(): number {
    return Math.floor(this.#deviceNow() + this.#offsetMs);
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Records the server time seen at `receivedAtDevice` (half the round trip already added). */
  syncWithServer(serverTime: number, receivedAtDevice: number): void {
    this.#offsetMs = serverTime - receivedAtDevice;
  }

  /** A stamp for a local edit. */
  stamp(): Stamp {
    return this.#hlc.tick();
  }

  /** Takes a stamp seen in a replicated document into account. */
  receive(stamp: Stamp): void {
    this.#hlc.receive(stamp);
  }
}
