/**
 * Request/answer over a child process's IPC channel: the benchmarks run the server and the crowd of
 * devices in their own processes (a faithful simulation, and the server's RSS is then its own).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface Child {
  readonly pid: number;
  /** The first message the child sends once it is ready. */
  readonly ready: unknown;
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  /** Asks the child to close, then waits for it to exit (kills it after `ms`). */
  stop(ms?: number): Promise<void>;
}

/** Starts `entry` (a .ts file next to this one) as a child with TypeScript and the source condition. */
export async function startChild(entry: string, argument: unknown, options: { exposeGc?: boolean; maxOldSpaceMb?: number } = {}): Promise<Child> {
  const path = fileURLToPath(new URL(entry, import.meta.url));
  const execArgv = ['--conditions=source', '--import', 'tsx'];
  if (options.exposeGc === true) execArgv.push('--expose-gc');
  if (options.maxOldSpaceMb !== undefined) execArgv.push(`--max-old-space-size=${options.maxOldSpaceMb}`);
  const child: ChildProcess = fork(path, [JSON.stringify(argument)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const { reject } of pending.values()) reject(new Error(`child ${entry} exited (${code ?? signal})`));
      pending.clear();
      resolve();
    });
  });
  const ready = await new Promise<unknown>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`child ${entry} exited before it was ready (${code})`)));
  });
  child.on('message', (message: Answer) => {
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(message.error));
  });
  return {
    pid: child.pid ?? 0,
    ready,
    call<T>(method: string, ...args: unknown[]): Promise<T> {
      if (exited) return Promise.reject(new Error(`child ${entry} has exited`));
      const id = nextId++;
      const request: Request = { id, method, args };
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send(request);
      });
    },
    async stop(ms = 10_000) {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        const id = nextId++;
        child.send({ id, method: 'close', args: [] } satisfies Request);
      } catch {
        child.kill('SIGKILL');
      }
      await exit;
      clearTimeout(timer);
    },
  };
}

/** The child's side: answers requests with `methods`; `close` runs `onClose` and exits. */
export function serveParent(methods: Record<string, (...args: never[]) => unknown>, onClose: () => Promise<void>): void {
  process.on('message', (message: Request) => {
    if (message.method === 'close') {
      void onClose().finally(() => process.exit(0));
      return;
    }
    const method = methods[message.method] as ((...args: unknown[]) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (method === undefined) throw new Error(`unknown method ${message.method}`);
        return method(...message.args);
      })
      .then(
        (result) => process.send?.({ id: message.id, ok: true, result: result ?? null } satisfies Answer),
        (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies Answer),
      );
  });
  process.on('disconnect', () => {
    void onClose().finally(() => process.exit(0));
  });
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s*(\d+)\s*kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
