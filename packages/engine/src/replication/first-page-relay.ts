/**
 * The first page as the unread views and `syncProgress$` see it: the page of the sync this engine
 * runs, once it runs one. Without tabs the sync starts before the services, so the page is there
 * from the first moment; with tabs only the leading tab runs the sync, which it starts after its
 * election — the page attaches then, and the views count again. A tab that does not lead counts
 * from its replica (its totals are complete once the leader's catch-up is in).
 */
import { EMPTY, Subject, BehaviorSubject, merge, switchMap, type Observable } from 'rxjs';
import type { ConversationDoc } from '@convsync/protocol';
import type { NormalFilter } from '../views/filter.js';
import type { FirstPage, Share, SyncProgress } from './first-page.js';

/** What the unread index needs of a first page. */
export type FirstPageView = Pick<FirstPage, 'active' | 'switched$' | 'changed' | 'count' | 'loaded' | 'shown' | 'shownChanged$' | 'settled'>;

export class FirstPageRelay implements FirstPageView {
  readonly #current = new BehaviorSubject<FirstPage | undefined>(undefined);
  readonly #attached = new Subject<void>();
  /** The attached page's switches, and the attaching itself (the counts may change source). */
  readonly switched$: Observable<void> = merge(
    this.#attached,
    this.#current.pipe(switchMap((page) => page?.switched$ ?? EMPTY)),
  );
  readonly progress$: Observable<SyncProgress> = this.#current.pipe(switchMap((page) => page?.progress$ ?? EMPTY));
  readonly shownChanged$: Observable<void> = merge(
    this.#attached,
    this.#current.pipe(switchMap((page) => page?.shownChanged$ ?? EMPTY)),
  );

  /** Follows the page of a sync that just started (a new leader's, with tabs). */
  attach(page: FirstPage | undefined): void {
    if (page === undefined || page === this.#current.value) return;
    this.#current.next(page);
    this.#attached.next();
  }

  get loaded(): Promise<void> {
    return this.#current.value?.loaded ?? Promise.resolve();
  }

  get shown(): ReadonlyMap<string, ConversationDoc> | null {
    return this.#current.value?.shown ?? null;
  }

  settled(): Promise<void> | undefined {
    return this.#current.value?.settled();
  }

  get active(): boolean {
    return this.#current.value?.active === true;
  }

  changed(id: string, previous: Share | undefined, local: boolean): void {
    this.#current.value?.changed(id, previous, local);
  }

  count(filter: NormalFilter | null, now: (id: string) => Share | undefined): number {
    return this.#current.value?.count(filter, now) ?? 0;
  }
}
