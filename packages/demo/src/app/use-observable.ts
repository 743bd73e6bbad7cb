/**
 * Subscribes a component to one of the engine's observables. The engine's observables emit their
 * current value on subscribe, so `initial` only shows for the instant before the first emission.
 */
import { useEffect, useState } from 'preact/hooks';

/** The part of an RxJS Observable a component needs (the demo does not depend on rxjs itself). */
export interface Source<T> {
  subscribe(observer: { next: (value: T) => void; error: (error: unknown) => void }): { unsubscribe(): void };
}

/** The latest value of `source` (keep `source` stable with useMemo: a new one resubscribes). */
export function useObservable<T>(source: Source<T> | null, initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    if (source === null) return undefined;
    const subscription = source.subscribe({
      next: (next) => setValue(() => next),
      error: (error) => console.error('observable failed', error),
    });
    return () => subscription.unsubscribe();
  }, [source]);
  return value;
}
