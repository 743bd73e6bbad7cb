/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * A message from another account reaches the inbox live: the row's unread badge, the total in the
 * header, the document title and the app badge all rise; the phone-sized layout; the keyboard.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  browserAvailable,
  row,
  screenshot,
  waitForRow,
  waitForSyncState,
  useBrowserSuite,
} from './harness.js';

const P2P = 1;
const TEAM = 2;

function appBadge(page: Page): Promise<number | null> {
  return page.evaluate(() => (window as unknown as { __appBadge?: number }).__appBadge ?? null);
}

describe.skipIf(!browserAvailable)('one profile: live unread from other accounts, phone layout, keyboard', () => {
  const suite = useBrowserSuite();

  it('a message from another account raises the badge and the title count', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'zoe', name: 'Zoe Park' });
    await server.upsertUser({ accountId: 'erin', name: 'Erin Walsh' });
    await server.upsertUser({ accountId: 'bob', name: 'Bob Martin' });
    await server.createTeam({ teamId: 'launch', name: 'Launch crew', memberIds: ['zoe', 'bob', 'erin'] });
    await server.sendMessage({ from: 'bob', conversationType: TEAM, targetId: 'launch', text: 'Staging is green, ready for the dry run.' });

    const phone = await suite.openDevice({ accountId: 'zoe', viewport: { width: 390, height: 780 } });
    const { page } = phone;
    await waitForSyncState(page, 'synced');
    await waitForRow(page, 'zoe|2|launch', { unread: '1' });
    await page.waitForFunction(() => document.title === '(1) ConvSync');
    expect(await appBadge(page)).toBe(1);

    await server.sendMessage({ from: 'erin', conversationType: P2P, targetId: 'zoe', text: 'Are you joining the review at 3?' });
    await waitForRow(page, 'zoe|1|erin', { unread: '1' });
    await page.waitForFunction(() => document.title === '(2) ConvSync');
    expect(await appBadge(page)).toBe(2);
    expect(await page.locator('[data-testid="total-unread"]').textContent()).toBe('2');

    await server.sendMessage({ from: 'erin', conversationType: P2P, targetId: 'zoe', text: 'Bring the prototype!' });
    await waitForRow(page, 'zoe|1|erin', { unread: '2' });
    await page.waitForFunction(() => document.title === '(3) ConvSync');
    expect(await appBadge(page)).toBe(3);
    expect(await page.locator('[data-filter="teams"] .chip-count').textContent()).toBe('1');
    expect(await page.locator('[data-filter="p2p"] .chip-count').textContent()).toBe('2');
    await screenshot(page, 'phone-inbox');

    // Reading on the phone brings everything back down.
    await row(page, 'zoe|1|erin').getByRole('link').click();
    await page.locator('.message', { hasText: 'Bring the prototype!' }).waitFor();
    await screenshot(page, 'phone-conversation');
    await page.waitForFunction(() => document.title === '(1) ConvSync');
    expect(await appBadge(page)).toBe(1);
  });
  it('the inbox works from the keyboard, and every control has an accessible name', async () => {
    const { server } = suite;
    await server.upsertUser({ accountId: 'kim', name: 'Kim Lee' });
    await server.sendMessage({ from: 'kim', conversationType: P2P, targetId: 'kai', text: 'First' });
    await server.sendMessage({ from: 'erin', conversationType: P2P, targetId: 'kai', text: 'Second' });
    const device = await suite.openDevice({ accountId: 'kai' });
    const { page } = device;
    await waitForRow(page, 'kai|1|kim', { unread: '1' });
    await waitForRow(page, 'kai|1|erin', { unread: '1' });

    // Arrow keys move through the rows (newest first: erin, then kim); Enter opens; Escape leaves.
    await row(page, 'kai|1|erin').getByRole('link').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.locator('section.conversation[data-conversation-id="kai|1|kim"]').waitFor();
    await waitForRow(page, 'kai|1|kim', { unread: '0' });
    await page.getByLabel('Message', { exact: true }).focus();
    await page.keyboard.type('Typed without a mouse');
    await page.keyboard.press('Enter');
    await page.locator('.message', { hasText: 'Typed without a mouse' }).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('section.conversation').waitFor({ state: 'detached' });

    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button, a, input, textarea')]
        .filter((element) => {
          const labelled = element.getAttribute('aria-label') ?? '';
          const text = element.textContent?.trim() ?? '';
          const id = element.getAttribute('id');
          const label = id === null ? null : document.querySelector(`label[for="${id}"]`);
          const wrapped = element.closest('label');
          return labelled === '' && text === '' && label === null && wrapped === null;
        })
        .map((element) => element.outerHTML.slice(0, 80)));
    expect(unnamed).toEqual([]);
  });
});
