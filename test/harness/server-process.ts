/**
 * The real server as a child process (its CLI) on a SQLite file, so a test can SIGKILL it and
 * start it again on the same file and port — the only honest way to prove that an acknowledged
 * write survives a crash. Tokens are forged with the secret the harness hands the CLI. A start with
 * crash points armed runs the harness's own entry (`server-main.ts`: `startServer({ faults })`),
 * since the shipped CLI has no way to arm them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type ConvSyncServer, type CrashFault } from '@convsync/server';
import { forgeToken } from './jwt.js';
import { freePort } from './ports.js';

/** Children still running; SIGKILLed if the test process exits, so no server outlives its harness. */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL');
});

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/server/src/cli.ts');
const FAULT_ENTRY = join(ROOT, 'test/harness/server-main.ts');

/** `crash-before-commit | crash-after-commit | crash-after-ack` at the n-th request of an event. */
export type { CrashFault };

export interface ServerProcessOptions {
  /** Extra CLI flags (e.g. `['--origin', 'https://app.example']`). */
  args?: readonly string[];
  /** Where the SQLite file lives (default a fresh temporary directory, removed by `dispose`). */
  dir?: string;
}

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We asked for it (kill/stop) or a configured fault fired. */
  expected: boolean;
  stderrTail: string;
}

export class ServerProcess {
  readonly secret = `harness-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  readonly dir: string;
  readonly dbPath: string;
  /** Every exit so far; an unexpected one is a crash. */
  readonly exits: ExitRecord[] = [];
  port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #expectExit = false;
  #fault: CrashFault[] = [];
  #stderr = '';
  readonly #args: readonly string[];
  readonly #ownsDir: boolean;

  constructor(options: ServerProcessOptions = {}) {
    this.#ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'convsync-harness-'));
    this.dbPath = join(this.dir, 'server.sqlite');
    this.#args = options.args ?? [];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The child's resident memory (Linux /proc), for bounded-growth checks. */
  rssBytes(): number {
    const pid = this.#child?.pid;
    if (pid === undefined) return 0;
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  }

  /**
   * Seeds teams and profiles while the process is down: the CLI has no admin API, so an
   * in-process server opens the same SQLite file, does the work through the server's own API,
   * and closes it before the child starts.
   */
  async seed(fn: (server: ConvSyncServer) => Promise<void>): Promise<void> {
    if (this.#child !== undefined) throw new Error('seed the server while it is stopped');
    const server = await startServer({ database: this.dbPath, port: 0, secret: this.secret });
    try {
      await fn(server);
    } finally {
      await server.close();
    }
  }

  get crashes(): number {
    return this.exits.filter((e) => !e.expected).length;
  }

  /** A token of `accountId` that this server accepts. */
  token(accountId: string, options: { expiresInSeconds?: number } = {}): string {
    const nowMs = Date.now();
    return forgeToken({ secret: this.secret, sub: accountId, exp: Math.floor(nowMs / 1000) + (options.expiresInSeconds ?? 3600), nowMs });
  }

  /** Starts (or restarts, on the same port and file) the server; `faults` arm crash points. */
  async start(options: { faults?: readonly CrashFault[] } = {}): Promise<void> {
    if (this.#child !== undefined) throw new Error('server already running');
    if (this.port === 0) this.port = await freePort();
    this.#fault = [...(options.faults ?? [])];
    this.#expectExit = false;
    this.#stderr = '';
    const entry = this.#fault.length > 0 ? [FAULT_ENTRY, '--faults', JSON.stringify(this.#fault)] : [CLI];
    const child = spawn(process.execPath, [
      '--conditions=source', '--import', 'tsx', ...entry,
      '--port', String(this.port), '--db', this.dbPath, '--secret', this.secret, '--log-level', 'warn',
      ...this.#args,
    ], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    LIVE.add(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        LIVE.delete(child);
        const faulted = this.#fault.length > 0 && signal === 'SIGKILL';
        this.exits.push({ code, signal, expected: this.#expectExit || faulted, stderrTail: this.#stderr });
        if (this.#child === child) this.#child = undefined;
        resolveExit();
      });
    });
    await this.#waitHealthy(child);
  }

  /** SIGKILL (no cleanup), and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#expectExit = true;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** Graceful SIGTERM stop. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#expectExit = true;
    child.kill('SIGTERM');
    await this.#exited;
  }

  /** Resolves when the process has exited (e.g. after a configured fault fired). */
  whenExited(): Promise<void> {
    return this.#exited;
  }

  /** Stops the process and removes the temporary directory. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  async #waitHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.#child !== child) {
        // An armed crash point fires at a device's request, which can come before our health
        // check does: the server did start (soak seeds 1918660174, 1256533286).
        const exit = this.exits[this.exits.length - 1];
        if (this.#fault.length > 0 && exit?.signal === 'SIGKILL') return;
        throw new Error(`server exited during start-up:\n${this.#stderr}`);
      }
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
