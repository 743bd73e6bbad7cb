/// <reference lib="dom" />
/**
 * The first screen in the demo (docs/ARCHITECTURE.md "First sync"): a new profile of an account
 * with 20,000 conversations shows the right first rows and the right total while the rest of its
 * replica is still syncing (the progress bar is up), and the same once synced.
 */
import { describe, expect, it } from 'vitest';
import { ClientEvent, Collection, ConversationType, type PullAnswer } from '@convsync/protocol';
import { browserAvailable, listOrder, waitForSyncState, useBrowserSuite } from './harness.js';

const ACCOUNT = 'zoe';
const CONVERSATIONS = 20_000;
const TOP = 20;
const peerOf = (i: number): string => `p${String(i).padStart(5, '0')}`;

/** The top of the account's list and its total, as the server answers a first page. */
let expected: { top: string[]; total: number };

describe.skipIf(!browserAvailable)('the first screen of a new profile', () => {
  const suite = useBrowserSuite(async ({ server }) => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CONVERSATIONS) {
        const i = next++;
        await server.sendMessage({ from: peerOf(i), conversationType: ConversationType.P2P, targetId: ACCOUNT, text: `hello ${i}` });
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    const session = await server.connectInProcess(await server.issueToken(ACCOUNT));
    try {
      const page = await session.request(ClientEvent.PULL, {
        collection: Collection.CONVERSATIONS, checkpoint: null, batchSize: TOP, order: 'rank',
      }) as PullAnswer & { unread?: { total: number } };
      if (!page.ok || page.unread === undefined) throw new Error('the server answered no first page');
      expected = { top: page.documents.map((doc) => (doc as { conversationId: string }).conversationId), total: page.unread.total };
    } finally {
      session.close();
    }
  });

  it('shows the right first rows and total before the sync finishes', async () => {
    expect(expected.total).toBe(CONVERSATIONS);
    const device = await suite.openDevice({ accountId: ACCOUNT });
    // The first moment the list has its first rows: what it shows, and whether the catch-up runs.
    const first = await device.page.waitForFunction((top) => {
      const rows = [...document.querySelectorAll('li.row')].map((r) => r.getAttribute('data-conversation-id') ?? '');
      if (rows.length < top) return null;
      return {
        rows: rows.slice(0, top),
        total: document.querySelector('[data-testid="total-unread"]')?.textContent ?? null,
        progress: document.querySelector('[data-testid="sync-progress"]') !== null,
        state: document.querySelector('.sync-status')?.getAttribute('data-state') ?? null,
      };
    }, TOP, { polling: 'raf', timeout: 60_000 }).then((handle) => handle.jsonValue());
    expect(first).not.toBeNull();
    expect(first!.rows).toEqual(expected.top);
    expect(first!.total).toBe(String(expected.total));
    expect(first!.state).not.toBe('synced');
    expect(first!.progress).toBe(true);

    await waitForSyncState(device.page, 'synced', 120_000);
    expect((await listOrder(device.page)).slice(0, TOP)).toEqual(expected.top);
    expect(await device.page.locator('[data-testid="total-unread"]').textContent()).toBe(String(expected.total));
    await device.page.locator('[data-testid="sync-progress"]').waitFor({ state: 'detached' });
  });
});
