/**
 * Builds and serves the demo from Node, for `npm start` and the browser tests: Vite's build and
 * preview APIs over this package's vite.config.ts. Preview serves the production build (service
 * worker included), which is what the offline tests need.
 */
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type LogLevel } from 'vite';

/** The demo package's folder. */
export const demoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(demoRoot, 'dist');

function newestMtime(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** What the bundle is built from: the demo and the workspace packages it bundles from source. */
const SOURCES = ['src', 'public', 'index.html', 'vite.config.ts', '../engine/src', '../protocol/src'];

/** Whether dist/ is missing or older than any source it is built from. */
export function demoBuildIsStale(): boolean {
  const index = join(dist, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((source) => {
    const path = join(demoRoot, source);
    if (!existsSync(path)) return false;
    const stat = statSync(path);
    return (stat.isDirectory() ? newestMtime(path) : stat.mtimeMs) > built;
  });
}

export interface BuildOptions {
  /** Build even when dist/ is up to date. */
  force?: boolean;
  logLevel?: LogLevel;
}

/** Builds the demo into dist/ (skipped when it is up to date unless `force`); returns dist/. */
export async function buildDemo(options: BuildOptions = {}): Promise<string> {
  if (options.force === true || demoBuildIsStale()) {
    await build({ root: demoRoot, configFile: join(demoRoot, 'vite.config.ts'), logLevel: options.logLevel ?? 'warn' });
  }
  return dist;
}

export interface ServeOptions {
  /** 0: a free port. Default 5173. */
  port?: number;
  host?: string;
  logLevel?: LogLevel;
}

export interface DemoServer {
  /** e.g. http://127.0.0.1:5173 (no trailing slash) */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the built demo (call buildDemo first). */
export async function serveDemo(options: ServeOptions = {}): Promise<DemoServer> {
  const host = options.host ?? '127.0.0.1';
  const server = await preview({
    root: demoRoot,
    configFile: join(demoRoot, 'vite.config.ts'),
    logLevel: options.logLevel ?? 'warn',
    preview: { port: options.port ?? 5173, host, strictPort: options.port !== undefined && options.port !== 0, open: false },
  });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('the demo server has no TCP address');
  return {
    url: `http://${host}:${address.port}`,
    close: () => server.close(),
  };
}
