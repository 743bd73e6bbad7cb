/**
 * `npm start` (scripts/start-product.mjs): one command serves the sync server with development
 * sign-in and the built demo, seeds a new database, prints where to go, and stops on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in time; output:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`));
    });
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGKILL');
      await exitCode(child);
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the server and the demo, seeds a new database, prints the accounts, and stops on SIGINT', async () => {
    dir = mkdtempSync(join(tmpdir(), 'convsync-start-'));
    const database = join(dir, 'convsync.sqlite');
    child = spawn(process.execPath, [join(root, 'scripts/start-product.mjs')], {
      cwd: root,
      env: { ...process.env, CONVSYNC_DB: database, CONVSYNC_PORT: '0', CONVSYNC_DEMO_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = await waitForOutput(child, /Ctrl-C stops both/, 90_000);
    expect(output).toContain('new database, demo content added');
    expect(output).toMatch(/Sign in as: +alice, bob, carol, dave/);
    const demoUrl = /Demo PWA: +(http:\/\/\S+)/.exec(output)?.[1];
    const serverUrl = /Sync server: +(http:\/\/\S+)/.exec(output)?.[1];
    expect(demoUrl).toBeDefined();
    expect(serverUrl).toBeDefined();

    const page = await fetch(demoUrl ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(new URL('manifest.webmanifest', demoUrl))).status).toBe(200);
    expect((await fetch(new URL('sw.js', demoUrl))).status).toBe(200);
    const token = await fetch(new URL('/dev/token', serverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'alice' }),
    });
    expect(token.status).toBe(200);

    child.kill('SIGINT');
    expect(await exitCode(child)).toBe(0);
    expect(existsSync(database)).toBe(true);
  });
});
