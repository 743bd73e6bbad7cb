/**
 * A ConvSync cluster for the scale-out suite: N server processes (the real CLI as child processes)
 * on one PostgreSQL schema and one Redis channel prefix, both unique to the run, plus an
 * in-process "backend" server on the same database and Redis that issues tokens (shared secret),
 * creates teams and sends messages as a backend would.
 *
 * PostgreSQL (CONVSYNC_TEST_PG) and Redis (CONVSYNC_TEST_REDIS) are required: an unreachable one
 * fails the suite, it never skips. A throwaway `redis-server` can be started for tests that must
 * restart Redis (the machine's shared one is never touched).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type ConvSyncServer } from '@convsync/server';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CLI = resolve(ROOT, 'packages/server/src/cli.ts');
const SERVER_DIR = resolve(ROOT, 'packages/server');

export const PG_URL = process.env.CONVSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.CONVSYNC_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** A name unique to this run (schema, channel prefix, account suffix). */
export function runId(label: string): string {
  return `${label}_${process.pid.toString(36)}_${randomBytes(4).toString('hex')}`;
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port) || defaultPort });
    socket.setTimeout(3000, () => { socket.destroy(); done(false); });
    socket.once('connect', () => { socket.end(); done(true); });
    socket.once('error', () => done(false));
  });
}

/** Fails loudly (never skips) when a service the suite needs does not answer. */
export async function requireServices(): Promise<void> {
  for (const [name, url, port] of [['PostgreSQL', PG_URL, 5432], ['Redis', REDIS_URL, 6379]] as const) {
    if (!(await reachable(url, port))) {
      throw new Error(`the scale-out suite needs ${name} at ${url}${process.env.CI === undefined ? '' : ' (CI: services must run)'}`);
    }
  }
}

/**
 * Drops a schema. The test package has no PostgreSQL client of its own, so this runs node-postgres
 * from the server package's directory (where `pg` resolves) in a short child process.
 */
export function dropSchema(schema: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`unsafe schema name ${schema}`);
  const script = `const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: process.env.PG_URL });
    await client.connect();
    await client.query('DROP SCHEMA IF EXISTS ${schema} CASCADE');
    await client.end();`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: SERVER_DIR, env: { ...process.env, PG_URL }, encoding: 'utf8', timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`dropping schema ${schema} failed: ${result.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
}

/** One server process (the CLI). */
export class ServerNode {
  readonly exited: Promise<void>;
  stderr = '';

  private constructor(readonly child: ChildProcess, readonly url: string) {
    this.exited = exitOf(child);
  }

  /** Starts the CLI with `args` on `port` (0: a free one). */
  static async start(args: readonly string[], port = 0): Promise<ServerNode> {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, '--port', String(port), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`server did not start in 30 s: ${stderr}`)), 30_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // One JSON object per line, fields in any order.
        const listening = stderr.split('\n').find((line) => line.includes('"msg":"server listening"'));
        const match = listening === undefined ? null : /"url":"([^"]+)"/.exec(listening);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          done(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`server exited (${String(code)}) before listening: ${stderr}`));
      });
    });
    const node = new ServerNode(child, url);
    node.stderr = stderr;
    child.stderr?.on('data', (chunk: Buffer) => { node.stderr = (node.stderr + chunk.toString()).slice(-20_000); });
    return node;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: no drain, no goodbye — a crashed machine. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface ClusterOptions {
  processes: number;
  /** Default: the shared Redis, with a channel prefix unique to the run. */
  redisUrl?: string;
  /**
   * PostgreSQL connections per process (default 4: several suites share the database's 100
   * connections when CI runs files in parallel; the bench uses the server's default, 10).
   */
  pool?: number;
  /**
   * `--drain-window` of each process (default 0: a stop moves every device at once and closes, as
   * the suites that only need a process gone expect; the rolling restart sets a real window).
   */
  drainWindowMs?: number;
}

/** N CLI processes + an in-process backend server, all on one schema and one channel prefix. */
export class Cluster {
  readonly nodes: ServerNode[] = [];
  readonly secret = randomBytes(24).toString('hex');
  readonly schema = runId('scale');
  readonly prefix = runId('convsync');
  readonly redisUrl: string;
  readonly database: string;
  backend!: ConvSyncServer;
  #args: string[] = [];

  constructor(readonly options: ClusterOptions) {
    this.redisUrl = options.redisUrl ?? REDIS_URL;
    this.database = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${this.schema}&pool=${options.pool ?? 4}`;
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  async start(): Promise<this> {
    // The backend first: it migrates the schema once, before the processes race on it.
    this.backend = await startServer({
      port: 0,
      database: this.database,
      redisUrl: this.redisUrl,
      redisChannelPrefix: this.prefix,
      secret: this.secret,
    });
    this.#args = ['--db', this.database, '--redis', this.redisUrl, '--redis-prefix', this.prefix, '--secret', this.secret,
      '--drain-window', String(this.options.drainWindowMs ?? 0)];
    this.nodes.push(...(await Promise.all(Array.from({ length: this.options.processes }, () => ServerNode.start(this.#args)))));
    return this;
  }

  /** Starts process `index` again on its old port (after a kill), so devices' URL lists stay valid. */
  async restart(index: number): Promise<ServerNode> {
    const old = this.nodes[index];
    if (old === undefined) throw new Error(`no process ${index}`);
    await old.stop();
    const node = await ServerNode.start(this.#args, Number(new URL(old.url).port));
    this.nodes[index] = node;
    return node;
  }

  token(accountId: string): Promise<string> {
    return this.backend.issueToken(accountId);
  }

  /** Stops what started (also after a failed start) and drops the schema. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    // backend is unset when start() failed early.
    await this.backend?.close();
    if (this.backend !== undefined) dropSchema(this.schema);
  }
}

/** A throwaway `redis-server` on a free port, for tests that restart Redis. */
export class ThrowawayRedis {
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort());
    await redis.restart();
    return redis;
  }

  /** Starts it (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    await this.stop();
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    while (!(await reachable(this.url, this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exitOf(child);
  }
}
