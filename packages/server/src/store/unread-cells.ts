/**
 * How one conversation moves its owner's unread totals (`UnreadCell`): its unread counts once in
 * the cell of its type and mute state with no group, and once in that cell of each of its groups.
 * A rewrite subtracts the old document's cells and adds the new one's, in the same transaction.
 */
import type { ListFacts } from './store.js';

/** What the store keeps of a document's share (`unread_facets`): [type, muted 0/1, groupIds]. */
export type Facets = [type: number, muted: 0 | 1, groupIds: string[]];

export function facetsText(facts: ListFacts): string {
  return JSON.stringify([facts.type, facts.mute ? 1 : 0, facts.groupIds]);
}

function isFacets(value: unknown): value is Facets {
  return Array.isArray(value) && value.length === 3 && typeof value[0] === 'number' &&
    (value[1] === 0 || value[1] === 1) && Array.isArray(value[2]) && value[2].every((g) => typeof g === 'string');
}

/** The cell key: owner, type, muted (0/1), group ('' for no group). */
export type CellKey = [owner: string, type: number, muted: 0 | 1, groupId: string];

/** Sums signed shares per cell; zero sums are dropped. */
export class CellDelta {
  readonly #cells = new Map<string, { key: CellKey; delta: number }>();

  /** Adds (`sign` 1) or removes (-1) a document's share, given its unread and stored facets. */
  add(owner: string, unread: number, facets: string | null | undefined, sign: 1 | -1): void {
    if (unread === 0 || facets === null || facets === undefined) return;
    const parsed: unknown = JSON.parse(facets);
    if (!isFacets(parsed)) return;
    const [type, muted, groups] = parsed;
    for (const group of ['', ...groups]) {
      const key: CellKey = [owner, type, muted, group];
      const id = JSON.stringify(key);
      const cell = this.#cells.get(id) ?? { key, delta: 0 };
      cell.delta += sign * unread;
      this.#cells.set(id, cell);
    }
  }

  /** The non-zero changes, in key order (the lock order of a multi-row upsert). */
  changes(): { key: CellKey; delta: number }[] {
    return [...this.#cells.entries()]
      .filter(([, cell]) => cell.delta !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, cell]) => cell);
  }
}
