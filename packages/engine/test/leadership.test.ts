/**
 * The tabs' leader election (src/tabs/leadership.ts): one lock per replica name, held by the
 * leader until it closes. Without Web Locks (Node 20) the in-realm lock queue stands in for them.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, filter } from 'rxjs';
import { electLeader, type Leadership } from '../src/tabs/leadership.js';
import { inRealmLocks } from '../src/tabs/realm-locks.js';
import { uniqueName } from './engine.helpers.js';

const noError = (error: unknown): never => {
  throw error;
};

function elected(leadership: Leadership): Promise<boolean> {
  return firstValueFrom(leadership.leading$.pipe(filter(Boolean)));
}

/** Lets every pending promise callback and timer of this turn run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('in-realm locks', () => {
  it('grant one name to one holder at a time, in the order asked, until its callback settles', async () => {
    const name = uniqueName('lock');
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const requests = ['a', 'b', 'c'].map((who) =>
      inRealmLocks.request(name, { signal: new AbortController().signal }, () => {
        order.push(who);
        return new Promise<void>((resolve) => releases.push(resolve));
      }));
    await settle();
    expect(order).toEqual(['a']);
    releases[0]?.();
    await requests[0];
    await settle();
    expect(order).toEqual(['a', 'b']);
    releases[1]?.();
    await settle();
    releases[2]?.();
    await Promise.all(requests);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('an abort withdraws a waiting request and leaves the holder alone', async () => {
    const name = uniqueName('lock');
    let releaseHolder = (): void => undefined;
    const holderAbort = new AbortController();
    const holder = inRealmLocks.request(name, { signal: holderAbort.signal }, () => new Promise<void>((resolve) => {
      releaseHolder = resolve;
    }));
    const waiterAbort = new AbortController();
    let waiterGranted = false;
    const waiter = inRealmLocks.request(name, { signal: waiterAbort.signal }, async () => {
      waiterGranted = true;
    });
    let thirdGranted = false;
    const third = inRealmLocks.request(name, { signal: new AbortController().signal }, async () => {
      thirdGranted = true;
    });
    waiterAbort.abort();
    await expect(waiter).rejects.toThrow();
    holderAbort.abort();
    await settle();
    expect(thirdGranted).toBe(false);
    releaseHolder();
    await Promise.all([holder, third]);
    expect(waiterGranted).toBe(false);
    expect(thirdGranted).toBe(true);
  });

  it('a callback that throws releases the lock and rejects its request', async () => {
    const name = uniqueName('lock');
    const failing = inRealmLocks.request(name, { signal: new AbortController().signal }, () => {
      throw new Error('callback failed');
    });
    await expect(failing).rejects.toThrow('callback failed');
    let granted = false;
    await inRealmLocks.request(name, { signal: new AbortController().signal }, async () => {
      granted = true;
    });
    expect(granted).toBe(true);
  });
});

describe('leadership', () => {
  it('elects exactly one tab of a replica and hands over the moment the leader closes', async () => {
    const name = uniqueName('tabs');
    const first = electLeader({ name, onError: noError });
    const second = electLeader({ name, onError: noError });
    await elected(first);
    await settle();
    expect([first.leading, second.leading]).toEqual([true, false]);
    await first.close();
    await elected(second);
    expect(first.leading).toBe(false);
    await second.close();
  });

  it('a tab that closes before it leads gives up its place in line', async () => {
    const name = uniqueName('tabs');
    const leader = electLeader({ name, onError: noError });
    const quitter = electLeader({ name, onError: noError });
    const next = electLeader({ name, onError: noError });
    await elected(leader);
    await quitter.close();
    await leader.close();
    await elected(next);
    expect(quitter.leading).toBe(false);
    await next.close();
  });

  it('tabs of different replicas lead each their own', async () => {
    const one = electLeader({ name: uniqueName('tabs'), onError: noError });
    const two = electLeader({ name: uniqueName('tabs'), onError: noError });
    await Promise.all([elected(one), elected(two)]);
    await Promise.all([one.close(), two.close()]);
  });
});
