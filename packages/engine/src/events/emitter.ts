/**
 * A small typed event emitter for the seed's `on(event, listener)` / `off(event, listener)` API.
 * A listener that throws must not break the engine (or the other listeners): its error goes to
 * the engine's error report instead of up the change stream that delivered the event.
 */
import { invalidParameter } from '@convsync/protocol';

/** Event name → listener signature. */
export type EventMap<Events> = { [K in keyof Events]: (...args: never[]) => void };

export class Emitter<Events extends EventMap<Events>> {
  readonly #names: ReadonlySet<string>;
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();
  readonly #onError: (error: unknown) => void;

  /** `names` lists the known events, so `on('typo', …)` is refused instead of silently ignored. */
  constructor(options: { names: readonly (keyof Events & string)[]; onError: (error: unknown) => void }) {
    this.#names = new Set(options.names);
    this.#onError = options.onError;
  }

  /** Adds `listener`; the function returned removes it again (as an RxJS unsubscribe would). */
  on<K extends keyof Events & string>(event: K, listener: Events[K]): () => void {
    this.#check(event);
    if (typeof listener !== 'function') throw invalidParameter('listener must be a function', { event });
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      this.#listeners.get(event)?.delete(listener);
    };
  }

  /** Removes one listener, or every listener of `event` when `listener` is absent. */
  off<K extends keyof Events & string>(event: K, listener?: Events[K]): void {
    this.#check(event);
    if (listener === undefined) this.#listeners.delete(event);
    else this.#listeners.get(event)?.delete(listener);
  }

  /** Removes every listener of `event`, or of every event when `event` is absent. */
  removeAllListeners(event?: keyof Events & string): void {
    if (event === undefined) {
      this.#listeners.clear();
      return;
    }
    this.#check(event);
    this.#listeners.delete(event);
  }

  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  #check(event: unknown): void {
    if (typeof event !== 'string' || !this.#names.has(event)) {
      throw invalidParameter('unknown event', { event: String(event).slice(0, 100) });
    }
  }
}
