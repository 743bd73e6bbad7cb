/// <reference lib="dom" />
/**
 * Offline first in a real browser: the service worker opens the app with the network off, the
 * IndexedDB replica shows the list, and reads, pins and sends made offline reach the other
 * profile — the message exactly once — when the network is back.
 */
import { describe, expect, it } from 'vitest';
import {
  browserAvailable,
  row,
  screenshot,
  waitForRow,
  waitForServiceWorker,
  waitForSyncState,
  useBrowserSuite,
} from './harness.js';

const P2P = 1;
const TEXT = 'Sent while offline, delivered later';

describe.skipIf(!browserAvailable)('a profile that goes offline', () => {
  const suite = useBrowserSuite();

  it('reloads with its list, reads, pins and sends offline; back online both converge and the message arrives once', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'dave', name: 'Dave Kim' });
    await server.upsertUser({ accountId: 'erin', name: 'Erin Walsh' });
    await server.upsertUser({ accountId: 'kim', name: 'Kim Lee' });
    await server.sendMessage({ from: 'kim', conversationType: P2P, targetId: 'ann', text: 'Notes from Monday attached.' });
    await server.sendMessage({ from: 'erin', conversationType: P2P, targetId: 'ann', text: 'The icons are in the shared folder.' });
    await server.sendMessage({ from: 'dave', conversationType: P2P, targetId: 'ann', text: 'Can you check the release notes?' });

    const a = await suite.openDevice({ accountId: 'ann' });
    const b = await suite.openDevice({ accountId: 'ann' });
    for (const device of [a, b]) {
      await waitForSyncState(device.page, 'synced');
      await waitForRow(device.page, 'ann|1|dave', { unread: '1', pinned: 'false' });
    }
    await waitForServiceWorker(a.page);
    // Seen online, so its history is on the device.
    await row(a.page, 'ann|1|kim').getByRole('link').click();
    await a.page.locator('.message', { hasText: 'Notes from Monday attached.' }).waitFor();

    // Offline, the reload is served by the service worker and the list by the replica.
    await a.context.setOffline(true);
    await a.page.reload();
    await waitForRow(a.page, 'ann|1|dave', { unread: '1' });
    await waitForRow(a.page, 'ann|1|erin', { unread: '1' });
    await waitForSyncState(a.page, 'no-network');
    await a.page.locator('.message', { hasText: 'Notes from Monday attached.' }).waitFor();
    await a.page.locator('.notice', { hasText: 'Offline' }).waitFor();

    // Read, pin and send, all offline.
    await row(a.page, 'ann|1|dave').getByRole('link').click();
    await a.page.locator('.message', { hasText: 'Can you check the release notes?' }).waitFor();
    await waitForRow(a.page, 'ann|1|dave', { unread: '0' });
    await a.page.locator('[data-action="pin"]').click();
    await waitForRow(a.page, 'ann|1|dave', { pinned: 'true' });
    await a.page.getByLabel('Message', { exact: true }).fill(TEXT);
    await a.page.getByRole('button', { name: 'Send' }).click();
    await a.page.locator('.message[data-state="sending"]', { hasText: TEXT }).waitFor();
    await screenshot(a.page, 'offline-conversation');

    // Nothing has left the offline profile.
    const beforeOnline = row(b.page, 'ann|1|dave');
    expect(await beforeOnline.getAttribute('data-unread')).toBe('1');
    expect(await beforeOnline.getAttribute('data-pinned')).toBe('false');

    await a.context.setOffline(false);
    await waitForSyncState(a.page, 'synced');
    await a.page.locator('.message[data-state="succeeded"]', { hasText: TEXT }).waitFor({ timeout: 30_000 });
    await waitForRow(b.page, 'ann|1|dave', { unread: '0', pinned: 'true' });
    await row(b.page, 'ann|1|dave').locator('.row-preview', { hasText: `You: ${TEXT}` }).waitFor();
    await waitForRow(b.page, 'ann|1|erin', { unread: '1' });

    // Exactly once: in the history the server returns to both profiles, after a fresh load.
    for (const device of [a, b]) {
      await device.page.reload();
      await row(device.page, 'ann|1|dave').getByRole('link').click();
      await device.page.locator('.message', { hasText: 'Can you check the release notes?' }).waitFor();
      await device.page.locator('.message', { hasText: TEXT }).first().waitFor();
      expect(await device.page.locator('.message', { hasText: TEXT }).count()).toBe(1);
    }
    const history = await server.sendMessage({ from: 'dave', conversationType: P2P, targetId: 'ann', text: 'Thanks!' });
    expect(history.text).toBe('Thanks!');
    await b.page.locator('.message', { hasText: 'Thanks!' }).waitFor();
    expect(await b.page.locator('.message', { hasText: TEXT }).count()).toBe(1);
  });
});
