/**
 * The list order as one ascending number (docs/ARCHITECTURE.md "The list order key"): pinned first, then newest
 * first. RxDB's Dexie storage only uses an index for ascending sorts, so the replica stores this
 * key, indexed, and queries it ascending.
 */
const SPAN = 2 ** 43; // sortOrder (ms) stays below 2^43 until the year 2248

export function conversationRank(stickTop: boolean, sortOrder: number): number {
  const order = Math.min(Math.max(0, Math.floor(sortOrder)), SPAN - 1);
  return (stickTop ? 0 : SPAN) + (SPAN - 1 - order);
}

export function rankIsPinned(rank: number): boolean {
  return rank < SPAN;
}

/** The largest rank any conversation can have. */
export const MAX_RANK = 2 * SPAN - 1;
