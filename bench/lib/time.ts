/** Timing helpers: a monotonic clock, bounded waits and a deadline for whole scenarios. */
import { firstValueFrom, type Observable, filter, timeout } from 'rxjs';

export const now = (): number => performance.now();

/** Resolves with the first value of `source` that satisfies `predicate`, or rejects after `ms`. */
export function waitFor<T>(source: Observable<T>, predicate: (value: T) => boolean, ms: number, what: string): Promise<T> {
  return firstValueFrom(source.pipe(
    filter(predicate),
    timeout({ first: ms, with: () => { throw new Error(`timed out after ${ms} ms waiting for ${what}`); } }),
  ));
}

/** Rejects if `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every `everyMs` until true, or rejects after `ms`. */
export async function poll(condition: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 5): Promise<void> {
  const end = now() + ms;
  for (;;) {
    if (await condition()) return;
    if (now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
