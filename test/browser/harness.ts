/// <reference lib="dom" />
/**
 * The browser suite's harness: a real server (temporary SQLite file, development sign-in) with the
 * built demo served beside it, Debian's Chromium through playwright-core, and "devices" — one
 * browser context each, so each has its own IndexedDB replica, service worker and device id.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { serveDemo, type DemoServer } from '@convsync/demo';
import { startServer, type ConvSyncServer } from '@convsync/server';

/** scripts/bootstrap.mjs exports CONVSYNC_CHROMIUM when it finds or installs Chromium. */
export const CHROMIUM_PATH = process.env.CONVSYNC_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Locally the suite needs Chromium installed; in CI it must run (a missing browser fails it). */
export const browserAvailable = existsSync(CHROMIUM_PATH) || process.env.CI === 'true';
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface Product {
  server: ConvSyncServer;
  demo: DemoServer;
  close(): Promise<void>;
}

/** The server on a fresh SQLite file with development sign-in, and the built demo on a free port. */
export async function startProduct(): Promise<Product> {
  const dir = mkdtempSync(join(tmpdir(), 'convsync-browser-'));
  const server = await startServer({ database: join(dir, 'convsync.sqlite'), dev: true });
  const demo = await serveDemo({ port: 0 });
  return {
    server,
    demo,
    async close() {
      await demo.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Device {
  context: BrowserContext;
  page: Page;
  accountId: string;
}

export interface DeviceOptions {
  accountId: string;
  /** Default: a laptop-sized window. */
  viewport?: { width: number; height: number };
  /** Saves a screenshot of the sign-in screen under this name. */
  signInScreenshot?: string;
}

/**
 * A new browser profile signed in as `accountId`. The Badging API is recorded (headless Chromium
 * has no installed app to badge) so tests can read what the app set: `window.__appBadge`.
 */
export async function openDevice(browser: Browser, product: Product, options: DeviceOptions): Promise<Device> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1200, height: 760 } });
  await context.addInitScript(() => {
    const record = (count: number): Promise<void> => {
      (window as unknown as { __appBadge: number }).__appBadge = count;
      return Promise.resolve();
    };
    Object.defineProperty(Navigator.prototype, 'setAppBadge', { configurable: true, value: (count?: number) => record(count ?? 0) });
    Object.defineProperty(Navigator.prototype, 'clearAppBadge', { configurable: true, value: () => record(0) });
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[${options.accountId} page error]`, error));
  await page.goto(`${product.demo.url}/?server=${encodeURIComponent(product.server.url)}`);
  await page.locator('#account-input').fill(options.accountId);
  if (options.signInScreenshot !== undefined) await screenshot(page, options.signInScreenshot);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('[data-testid="account"]', { hasText: options.accountId }).waitFor();
  return { context, page, accountId: options.accountId };
}

/** The inbox row of a conversation. */
export function row(page: Page, conversationId: string): Locator {
  return page.locator(`li.row[data-conversation-id="${conversationId}"]`);
}

/** Waits until the row's data attributes match (e.g. { unread: '0', pinned: 'true' }). */
export async function waitForRow(page: Page, conversationId: string, attributes: Record<string, string>, timeout = 30_000): Promise<void> {
  const selector = Object.entries(attributes).map(([key, value]) => `[data-${key}="${value}"]`).join('');
  await page.locator(`li.row[data-conversation-id="${conversationId}"]${selector}`).waitFor({ timeout });
}

export async function waitForSyncState(page: Page, state: 'synced' | 'syncing' | 'offline' | 'no-network', timeout = 30_000): Promise<void> {
  await page.locator(`.sync-status[data-state="${state}"]`).waitFor({ timeout });
}

/** Waits until the service worker controls the page, so the app shell is precached. */
export async function waitForServiceWorker(page: Page, timeout = 20_000): Promise<void> {
  await page.waitForFunction(async () => {
    const registration = await navigator.serviceWorker.ready;
    return registration.active !== null && navigator.serviceWorker.controller !== null;
  }, undefined, { timeout });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** The conversation list's ids, top to bottom. */
export async function listOrder(page: Page): Promise<string[]> {
  return page.locator('li.row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-conversation-id') ?? ''));
}

/** What a browser suite's tests get from `useBrowserSuite`. */
export interface BrowserSuite {
  /** The product's server (to add users, teams and messages); there once the suite has started. */
  readonly server: ConvSyncServer;
  /** A new profile signed in as `options.accountId` (see `openDevice`), closed after the test. */
  openDevice(options: DeviceOptions): Promise<Device>;
}

/**
 * The lifecycle every browser suite shares: one product (server + demo) and one browser for the
 * file, every device's context closed after each test. `ready` (e.g. seeding) runs once both are up.
 */
export function useBrowserSuite(ready?: (product: Product) => Promise<void>): BrowserSuite {
  let product: Product | undefined;
  let browser: Browser | undefined;
  const devices: Device[] = [];
  const started = (): { product: Product; browser: Browser } => {
    if (product === undefined || browser === undefined) throw new Error('the browser suite has not started (used outside a test?)');
    return { product, browser };
  };
  beforeAll(async () => {
    product = await startProduct();
    browser = await launchBrowser();
    await ready?.(product);
  });
  afterEach(async () => {
    for (const device of devices.splice(0)) await device.context.close();
  });
  afterAll(async () => {
    await browser?.close();
    await product?.close();
  });
  return {
    get server() {
      return started().product.server;
    },
    async openDevice(options) {
      const { product: p, browser: b } = started();
      const device = await openDevice(b, p, options);
      devices.push(device);
      return device;
    },
  };
}
