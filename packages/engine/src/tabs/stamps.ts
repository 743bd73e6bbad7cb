/**
 * A tab's clock follows the stamps of every change it sees (its own, other tabs', the server's),
 * so an edit made after seeing another tab's edit is stamped after it, as it would be in one tab:
 * the later action of the user wins, whichever tab it came from.
 */
import type { Subscription } from 'rxjs';
import type { RxChangeEventBulk } from 'rxdb';
import { NO_STAMP, maxStamp, type Stamp } from '@convsync/protocol';
import type { EngineClock } from '../clock.js';
import type { Replica } from '../replica/types.js';

interface Stamped {
  clock: object;
  groups?: readonly { stamp: Stamp }[];
}

function newestStamp(bulk: RxChangeEventBulk<Stamped>): Stamp {
  let newest: Stamp = NO_STAMP;
  for (const event of bulk.events) {
    const doc = event.documentData;
    for (const stamp of Object.values(doc.clock)) if (typeof stamp === 'string') newest = maxStamp(newest, stamp);
    if (doc.groups !== undefined) for (const register of doc.groups) newest = maxStamp(newest, register.stamp);
  }
  return newest;
}

export function followStamps(replica: Replica, clock: EngineClock): Subscription {
  const receive = (bulk: RxChangeEventBulk<Stamped>): void => {
    const newest = newestStamp(bulk);
    if (newest !== NO_STAMP) clock.receive(newest);
  };
  const subscription = replica.conversations.eventBulks$.subscribe(receive as (bulk: RxChangeEventBulk<unknown>) => void);
  subscription.add(replica.groups.eventBulks$.subscribe(receive as (bulk: RxChangeEventBulk<unknown>) => void));
  return subscription;
}
