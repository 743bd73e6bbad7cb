/// <reference lib="dom" />
/**
 * Several tabs of one browser profile (docs/ARCHITECTURE.md "Tabs"): one replica, one tab talking
 * to the server, every tab seeing every change at once; the talking tab closed in the middle of
 * sends and edits hands over without losing or repeating anything; a tab opened offline works on
 * the replica.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  browserAvailable,
  listOrder,
  row,
  waitForRow,
  waitForServiceWorker,
  waitForSyncState,
  useBrowserSuite,
  type Device,
} from './harness.js';

const P2P = 1;

/** Another tab of `device`'s profile, on the demo, signed in (the session is the profile's). */
async function openTab(device: Device): Promise<Page> {
  const page = await device.context.newPage();
  page.on('pageerror', (error) => console.error(`[${device.accountId} tab page error]`, error));
  await page.goto(device.page.url());
  await page.locator('[data-testid="account"]', { hasText: device.accountId }).waitFor();
  return page;
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.message', { hasText: text }).first().waitFor();
}

/** How many times `text` is in the conversation's history as the server returns it (fresh load). */
async function countInHistory(page: Page, conversationId: string, text: string): Promise<number> {
  await page.reload();
  await row(page, conversationId).getByRole('link').click();
  await page.locator('.message', { hasText: text }).first().waitFor({ timeout: 30_000 });
  return page.locator('.message', { hasText: text }).count();
}

describe.skipIf(!browserAvailable)('tabs of one browser profile', () => {
  const suite = useBrowserSuite();

  it('reads, pins, group edits and sends in any of three tabs show in every tab and on a second device', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'bob', name: 'Bob Martin' });
    await server.upsertUser({ accountId: 'carol', name: 'Carol Diaz' });
    await server.sendMessage({ from: 'carol', conversationType: P2P, targetId: 'tia', text: 'Slides are ready.' });
    await server.sendMessage({ from: 'bob', conversationType: P2P, targetId: 'tia', text: 'Lunch at noon?' });

    const profile = await suite.openDevice({ accountId: 'tia' });
    const tabs = [profile.page, await openTab(profile), await openTab(profile)];
    const [t1, t2, t3] = tabs as [Page, Page, Page];
    const other = await suite.openDevice({ accountId: 'tia' });
    for (const page of [...tabs, other.page]) {
      await waitForSyncState(page, 'synced');
      await waitForRow(page, 'tia|1|bob', { unread: '1', pinned: 'false' });
    }

    // A read in tab 2.
    await row(t2, 'tia|1|bob').getByRole('link').click();
    await t2.locator('.message', { hasText: 'Lunch at noon?' }).waitFor();
    for (const page of [t1, t3, other.page]) await waitForRow(page, 'tia|1|bob', { unread: '0' });

    // A pin in tab 3.
    await row(t3, 'tia|1|carol').getByRole('link').click();
    await t3.locator('[data-action="pin"]').click();
    for (const page of [t1, t2, other.page]) await waitForRow(page, 'tia|1|carol', { pinned: 'true' });
    expect((await listOrder(t1))[0]).toBe('tia|1|carol');

    // A group created in tab 1, bob's conversation put in it in tab 2.
    await t1.getByRole('button', { name: 'Groups', exact: true }).click();
    await t1.getByLabel('New group name').fill('Friends');
    await t1.getByRole('button', { name: 'Create' }).click();
    await t1.locator('dialog[data-dialog="groups"]').getByRole('button', { name: 'Close' }).click();
    for (const page of [t2, t3, other.page]) await page.locator('[data-filter^="group-"]', { hasText: 'Friends' }).waitFor({ timeout: 30_000 });
    await t2.locator('[data-action="groups"]').click();
    await t2.getByRole('checkbox', { name: 'Friends' }).check();
    await t2.getByRole('button', { name: 'Done' }).click();
    await t2.locator('[data-action="groups"]').waitFor();
    // No tab shows bob's conversation when his message comes (an open conversation reads it at once).
    await row(t2, 'tia|1|carol').getByRole('link').click();
    await server.sendMessage({ from: 'bob', conversationType: P2P, targetId: 'tia', text: 'Also: coffee?' });
    for (const page of [t1, t3, other.page]) {
      await page.locator('[data-filter^="group-"]', { hasText: 'Friends' }).locator('.chip-count', { hasText: '1' }).waitFor({ timeout: 30_000 });
    }

    // Sends from tab 3 and tab 1 (whichever holds the connection) arrive once each, everywhere.
    await row(t1, 'tia|1|bob').getByRole('link').click();
    await row(t3, 'tia|1|bob').getByRole('link').click();
    await send(t3, 'From tab three');
    await send(t1, 'From tab one');
    for (const page of [...tabs, other.page]) {
      await row(page, 'tia|1|bob').locator('.row-preview', { hasText: 'You: From tab one' }).waitFor({ timeout: 30_000 });
    }
    await t3.locator('.message[data-state="succeeded"]', { hasText: 'From tab three' }).waitFor({ timeout: 30_000 });
    expect(await countInHistory(other.page, 'tia|1|bob', 'From tab three')).toBe(1);
    expect(await countInHistory(other.page, 'tia|1|bob', 'From tab one')).toBe(1);
  });

  it('the tab talking to the server closes in the middle of sends and edits: nothing is lost or sent twice', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'dan', name: 'Dan Ray' });
    await server.sendMessage({ from: 'dan', conversationType: P2P, targetId: 'uma', text: 'Status?' });
    const profile = await suite.openDevice({ accountId: 'uma' });
    const leader = profile.page;
    await waitForSyncState(leader, 'synced');
    // Opened after the first tab holds the connection (a Web Lock), so the first one leads.
    const follower = await openTab(profile);
    const other = await suite.openDevice({ accountId: 'uma' });
    for (const page of [leader, follower, other.page]) await waitForRow(page, 'uma|1|dan', { unread: '1' });

    await row(follower, 'uma|1|dan').getByRole('link').click();
    const texts = Array.from({ length: 6 }, (_, i) => `Handover ${i}`);
    for (const text of texts.slice(0, 3)) await send(follower, text);
    // The follower's sync status over time: after the handover it is its own sync's, which starts
    // offline and says 'synced' once it is connected and caught up.
    await follower.evaluate(() => {
      const states: [number, string][] = [];
      (window as unknown as { __syncStates: [number, string][] }).__syncStates = states;
      const status = document.querySelector('.sync-status');
      if (status === null) throw new Error('no sync status');
      new MutationObserver(() => states.push([Date.now(), status.getAttribute('data-state') ?? ''])).observe(status, { attributes: true, attributeFilter: ['data-state'] });
    });
    const closedAt = Date.now();
    await leader.close({ runBeforeUnload: false });
    for (const text of texts.slice(3)) await send(follower, text);
    await follower.locator('[data-action="pin"]').click();
    await waitForRow(other.page, 'uma|1|dan', { pinned: 'true', unread: '0' }, 30_000);
    await row(other.page, 'uma|1|dan').locator('.row-preview', { hasText: 'You: Handover 5' }).waitFor({ timeout: 30_000 });
    const syncedAgainAt = await follower.waitForFunction(() => {
      const states = (window as unknown as { __syncStates: [number, string][] }).__syncStates;
      const left = states.findIndex(([, state]) => state !== 'synced');
      const back = left < 0 ? undefined : states.slice(left).find(([, state]) => state === 'synced');
      return back === undefined ? false : back[0];
    }, undefined, { timeout: 30_000 });
    console.info(`tabs (Chromium): handover, from closing the leading tab to the next one connected and caught up: ${Number(await syncedAgainAt.jsonValue()) - closedAt} ms`);
    console.info(`tabs (Chromium): from closing the leading tab to its follower's send and pin showing on another device: ${Date.now() - closedAt} ms`);
    await follower.locator('.message[data-state="succeeded"]', { hasText: 'Handover 5' }).waitFor({ timeout: 30_000 });
    for (const text of texts) expect(await countInHistory(other.page, 'uma|1|dan', text)).toBe(1);
  });

  it('the tab talking to the server crashes: the next tab takes over and delivers what was pending', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'fay', name: 'Fay Moss' });
    await server.sendMessage({ from: 'fay', conversationType: P2P, targetId: 'wes', text: 'Ping' });
    const profile = await suite.openDevice({ accountId: 'wes' });
    const leader = profile.page;
    await waitForSyncState(leader, 'synced');
    const follower = await openTab(profile);
    const other = await suite.openDevice({ accountId: 'wes' });
    for (const page of [follower, other.page]) await waitForRow(page, 'wes|1|fay', { unread: '1' });
    await row(follower, 'wes|1|fay').getByRole('link').click();
    // The renderer of the leading tab dies: no unload handler runs, only its Web Lock goes with it.
    const cdp = await profile.context.newCDPSession(leader);
    const crashedAt = Date.now();
    const crashed = new Promise<void>((resolve) => leader.once('crash', () => resolve()));
    // Page.crash answers nothing (its renderer is gone): wait for the page's crash event instead.
    void cdp.send('Page.crash').catch(() => undefined);
    await crashed;
    await send(follower, 'After the crash');
    await row(other.page, 'wes|1|fay').locator('.row-preview', { hasText: 'You: After the crash' }).waitFor({ timeout: 30_000 });
    console.info(`tabs (Chromium): from the leading tab's crash to a follower's message showing on another device: ${Date.now() - crashedAt} ms`);
    expect(await countInHistory(other.page, 'wes|1|fay', 'After the crash')).toBe(1);
  });

  it('a tab opened offline works on the replica; its edits and sends go out once the profile is back', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'eve', name: 'Eve Stone' });
    await server.sendMessage({ from: 'eve', conversationType: P2P, targetId: 'val', text: 'Are you there?' });
    const profile = await suite.openDevice({ accountId: 'val' });
    await waitForSyncState(profile.page, 'synced');
    await waitForRow(profile.page, 'val|1|eve', { unread: '1' });
    await waitForServiceWorker(profile.page);
    const other = await suite.openDevice({ accountId: 'val' });
    await waitForRow(other.page, 'val|1|eve', { unread: '1' });

    await profile.context.setOffline(true);
    const offlineTab = await openTab(profile);
    await waitForRow(offlineTab, 'val|1|eve', { unread: '1' });
    await waitForSyncState(offlineTab, 'no-network');
    await row(offlineTab, 'val|1|eve').getByRole('link').click();
    await waitForRow(offlineTab, 'val|1|eve', { unread: '0' });
    await waitForRow(profile.page, 'val|1|eve', { unread: '0' });
    await offlineTab.locator('[data-action="pin"]').click();
    await send(offlineTab, 'Written offline');
    await waitForRow(profile.page, 'val|1|eve', { pinned: 'true' });
    expect(await row(other.page, 'val|1|eve').getAttribute('data-pinned')).toBe('false');

    await profile.context.setOffline(false);
    await waitForRow(other.page, 'val|1|eve', { pinned: 'true', unread: '0' }, 30_000);
    await row(other.page, 'val|1|eve').locator('.row-preview', { hasText: 'You: Written offline' }).waitFor({ timeout: 30_000 });
    expect(await countInHistory(other.page, 'val|1|eve', 'Written offline')).toBe(1);
  });
});
