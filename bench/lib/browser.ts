/**
 * Headless Chromium for the browser benchmarks: esbuild bundles the benchmark page
 * (bench/browser/page.ts) and, separately, the engine; a small HTTP server serves them on
 * loopback; playwright-core drives Debian's Chromium.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BENCH_DIR } from './results.js';

export const CHROMIUM_PATH = process.env.CONVSYNC_CHROMIUM ?? '/usr/bin/chromium';

async function bundle(options: { entry?: string; contents?: string }): Promise<string | undefined> {
  try {
    const result = await build({
      ...(options.entry === undefined ? {} : { entryPoints: [options.entry] }),
      ...(options.contents === undefined ? {} : { stdin: { contents: options.contents, resolveDir: BENCH_DIR, loader: 'ts' } }),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['source'],
      minify: true,
      define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
      logLevel: 'silent',
    });
    return result.outputFiles[0]?.text;
  } catch {
    return undefined;
  }
}

export interface PageServer {
  url: string;
  engineBundled: boolean;
  close(): Promise<void>;
}

/** Bundles and serves the page; the engine bundle is absent while the engine does not build. */
export async function startPageServer(): Promise<PageServer> {
  const page = await bundle({ entry: join(BENCH_DIR, 'browser', 'page.ts') });
  if (page === undefined) throw new Error('the benchmark page does not bundle');
  const engine = await bundle({ contents: "export { createConversationEngine } from '@convsync/engine';" });
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>ConvSync bench</title><script type="module" src="/page.js"></script>' },
    '/page.js': { type: 'text/javascript', body: page },
    ...(engine === undefined ? {} : { '/engine.js': { type: 'text/javascript', body: engine } }),
  };
  const http = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    engineBundled: engine !== undefined,
    close: () => new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    }),
  };
}

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Opens the page and waits until its API is installed. */
export async function openBenchPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => 'convsyncBench' in window, undefined, { timeout: 30_000 });
  return page;
}
