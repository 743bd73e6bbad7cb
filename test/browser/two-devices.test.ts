/// <reference lib="dom" />
/**
 * Two browser profiles signed in as the same account are two devices with their own replicas:
 * what one does shows up on the other within moments, through the real server.
 */
import { describe, expect, it } from 'vitest';
import {
  browserAvailable,
  listOrder,
  row,
  screenshot,
  waitForRow,
  waitForSyncState,
  useBrowserSuite,
} from './harness.js';

const P2P = 1;

describe.skipIf(!browserAvailable)('two browser profiles of one account', () => {
  const suite = useBrowserSuite();

  it('a read, a pin and a delete on one profile appear on the other', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'bob', name: 'Bob Martin' });
    await server.upsertUser({ accountId: 'carol', name: 'Carol Diaz' });
    await server.sendMessage({ from: 'carol', conversationType: P2P, targetId: 'amy', text: 'Sent you the slides for Monday.' });
    await server.sendMessage({ from: 'bob', conversationType: P2P, targetId: 'amy', text: 'Are we still on for lunch?' });
    await server.sendMessage({ from: 'bob', conversationType: P2P, targetId: 'amy', text: 'I can book the usual place.' });

    const a = await suite.openDevice({ accountId: 'amy', signInScreenshot: 'sign-in' });
    const b = await suite.openDevice({ accountId: 'amy' });
    for (const device of [a, b]) {
      await waitForSyncState(device.page, 'synced');
      await waitForRow(device.page, 'amy|1|bob', { unread: '2', pinned: 'false' });
      await waitForRow(device.page, 'amy|1|carol', { unread: '1' });
    }
    await screenshot(b.page, 'inbox-before');

    // A read on A clears the unread on B.
    await row(a.page, 'amy|1|bob').getByRole('link').click();
    await a.page.locator('.message', { hasText: 'I can book the usual place.' }).waitFor();
    await waitForRow(b.page, 'amy|1|bob', { unread: '0' });
    // The title follows the total (its own observable), a frame or so after the row: wait for it.
    await expect.poll(() => b.page.title(), { timeout: 5_000 }).toBe('(1) ConvSync');

    // A pin on A puts the conversation first on B, though carol's is not older.
    await a.page.locator('[data-action="pin"]').click();
    await waitForRow(b.page, 'amy|1|bob', { pinned: 'true' });
    expect((await listOrder(b.page))[0]).toBe('amy|1|bob');
    await screenshot(a.page, 'conversation-desktop');

    // A delete on A removes it on B.
    await row(a.page, 'amy|1|carol').getByRole('link').click();
    await a.page.locator('[data-action="delete"]').click();
    await a.page.locator('[data-testid="confirm-delete"]').click();
    await row(a.page, 'amy|1|carol').waitFor({ state: 'detached' });
    await row(b.page, 'amy|1|carol').waitFor({ state: 'detached', timeout: 30_000 });
    expect(await listOrder(b.page)).toEqual(['amy|1|bob']);
    await expect.poll(() => b.page.title(), { timeout: 5_000 }).toBe('ConvSync');
  });
});
