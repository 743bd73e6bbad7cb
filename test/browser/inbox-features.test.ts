/// <reference lib="dom" />
/**
 * The seeded inbox `npm start` shows, driven through the UI: groups (create, add a conversation,
 * filter and count by group), mute with "ignore muted", and the server extension — each replicated
 * to a second profile of the account.
 */
import { describe, expect, it } from 'vitest';
import { seedDemo } from '@convsync/demo';
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
const TEAM = 2;

describe.skipIf(!browserAvailable)('the seeded demo inbox', () => {
  const suite = useBrowserSuite((product) => seedDemo(product.server));

  it('groups, mute with ignore-muted and the server extension work from the UI and reach the other profile', async () => {
    const { server } = suite;
    const a = await suite.openDevice({ accountId: 'alice', viewport: { width: 1280, height: 800 } });
    const b = await suite.openDevice({ accountId: 'alice' });
    for (const device of [a, b]) {
      await waitForSyncState(device.page, 'synced');
      await waitForRow(device.page, 'alice|1|bob', { unread: '2' });
      await waitForRow(device.page, 'alice|2|launch', { unread: '3' });
      await waitForRow(device.page, 'alice|2|design', { unread: '2' });
    }
    // Newest first: bob's was the last message sent to alice.
    expect((await listOrder(a.page))[0]).toBe('alice|1|bob');
    await a.page.waitForFunction(() => document.title === '(10) ConvSync');

    // Create a group and put the team in it.
    await a.page.getByRole('button', { name: 'Groups', exact: true }).click();
    await a.page.getByLabel('New group name').fill('Work');
    await a.page.getByRole('button', { name: 'Create' }).click();
    await a.page.locator('.group-row input').first().waitFor();
    await screenshot(a.page, 'groups-dialog');
    await a.page.locator('dialog[data-dialog="groups"]').getByRole('button', { name: 'Close' }).click();
    const workChip = a.page.locator('[data-filter^="group-"]', { hasText: 'Work' });
    await workChip.waitFor();
    await row(a.page, 'alice|2|launch').getByRole('link').click();
    await a.page.locator('[data-action="groups"]').click();
    await a.page.getByRole('checkbox', { name: 'Work' }).check();
    await a.page.getByRole('button', { name: 'Done' }).click();

    // A new team message counts in the group's chip, on both profiles.
    await a.page.getByRole('link', { name: /Launch crew/ }).waitFor();
    await a.page.locator('[data-action="groups"]').waitFor();
    await row(a.page, 'alice|1|carol').getByRole('link').click();
    await server.sendMessage({ from: 'dave', conversationType: TEAM, targetId: 'launch', text: 'Dry run notes are up.' });
    await waitForRow(a.page, 'alice|2|launch', { unread: '1' });
    await workChip.locator('.chip-count', { hasText: '1' }).waitFor();
    const bWork = b.page.locator('[data-filter^="group-"]', { hasText: 'Work' });
    await bWork.locator('.chip-count', { hasText: '1' }).waitFor({ timeout: 30_000 });
    await bWork.click();
    await b.page.waitForFunction(() => document.querySelectorAll('li.row').length === 1);
    expect(await listOrder(b.page)).toEqual(['alice|2|launch']);
    await b.page.locator('[data-filter="all"]').click();

    // Mute erin; with "ignore muted" her messages leave the counts and the list.
    await row(a.page, 'alice|1|erin').getByRole('link').click();
    await a.page.locator('[data-action="mute"]').click();
    await waitForRow(a.page, 'alice|1|erin', { muted: 'true' });
    await waitForRow(b.page, 'alice|1|erin', { muted: 'true' });
    await row(a.page, 'alice|1|bob').getByRole('link').click();
    await server.sendMessage({ from: 'erin', conversationType: P2P, targetId: 'alice', text: 'Small thing, no rush.' });
    await waitForRow(a.page, 'alice|1|erin', { unread: '1' });
    await a.page.getByTestId('ignore-muted').check();
    await row(a.page, 'alice|1|erin').waitFor({ state: 'detached' });
    // The title leaves out erin's one unread; the total beside the list keeps it. Both are read in
    // one frame: the total can still move (the read of bob lands) between two separate reads.
    await a.page.waitForFunction(() => {
      const total = Number(document.querySelector('[data-testid="total-unread"]')?.textContent ?? 'NaN');
      return document.title === `(${total - 1}) ConvSync`;
    });
    await a.page.getByTestId('ignore-muted').uncheck();

    // The server extension, edited on A, shows on B.
    await a.page.locator('[data-action="extension"]').click();
    await a.page.getByLabel(/Synced to every device/).fill('{"label":"lunch"}');
    await screenshot(a.page, 'extension-dialog');
    await a.page.getByRole('button', { name: 'Save' }).click();
    await a.page.locator('.conversation-header .subtitle', { hasText: 'ext: {"label":"lunch"}' }).waitFor();
    await row(b.page, 'alice|1|bob').getByRole('link').click();
    await b.page.locator('.conversation-header .subtitle', { hasText: 'ext: {"label":"lunch"}' }).waitFor({ timeout: 30_000 });

    // Pinned first, on both profiles.
    await row(a.page, 'alice|2|launch').getByRole('link').click();
    await a.page.locator('[data-action="pin"]').click();
    await waitForRow(b.page, 'alice|2|launch', { pinned: 'true' });
    expect((await listOrder(b.page))[0]).toBe('alice|2|launch');

    await row(a.page, 'alice|1|bob').getByRole('link').click();
    await a.page.locator('.message', { hasText: 'Yes! 12:30 works.' }).waitFor();
    await screenshot(a.page, 'inbox-desktop');

    // A third device, phone-sized, opens on the same state.
    const phone = await suite.openDevice({ accountId: 'alice', viewport: { width: 390, height: 780 } });
    await waitForRow(phone.page, 'alice|2|launch', { pinned: 'true', unread: '0' });
    await waitForRow(phone.page, 'alice|1|erin', { muted: 'true' });
    expect((await listOrder(phone.page))[0]).toBe('alice|2|launch');
    await screenshot(phone.page, 'phone-inbox-seeded');
  });
});
