/**
 * An engine device: a real `@convsync/engine` in its own worker thread (its own RxDB replica —
 * RxDB's open-source edition counts 13 collections per process), driven by a small RPC over the
 * worker port. The test process calls commands and reads snapshots; it never touches the replica.
 */
import { Worker } from 'node:worker_threads';
import type { ConversationView, EngineCommand, EngineDeviceInit, EngineReply, EngineSnapshot } from './engine-rpc.js';

export class EngineCallError extends Error {
  constructor(readonly code: number | null, message: string) {
    super(message);
  }
}

export class EngineDevice {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #exited = false;
  readonly ready: Promise<void>;

  constructor(readonly init: EngineDeviceInit) {
    this.#worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      execArgv: ['--conditions=source'],
      workerData: { entry: new URL('./engine-worker.ts', import.meta.url).href, init },
    });
    this.#worker.on('message', (reply: EngineReply) => {
      const waiter = this.#pending.get(reply.id);
      if (waiter === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new EngineCallError(reply.code, reply.message));
    });
    const fail = (error: Error) => {
      this.#exited = true;
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`worker exited with ${code}`)));
    // A worker compiles the engine's TypeScript and opens RxDB before it answers: generous.
    this.ready = this.call({ kind: 'snapshot' }, 120_000).then(() => undefined);
  }

  get deviceId(): string {
    return this.init.deviceId;
  }

  call(command: EngineCommand, timeoutMs = 20_000): Promise<unknown> {
    if (this.#exited) return Promise.reject(new Error(`${this.deviceId}: worker is gone`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.deviceId}: ${command.kind} timed out`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#worker.postMessage({ id, command });
    });
  }

  async snapshot(): Promise<EngineSnapshot> {
    return (await this.call({ kind: 'snapshot' })) as EngineSnapshot;
  }

  /** The replica's visible documents of these ids, read past the list view. */
  async byIds(ids: string[]): Promise<ConversationView[]> {
    return (await this.call({ kind: 'byIds', ids })) as ConversationView[];
  }

  /** Waits until the engine says 'synced' with nothing left in its outbox. */
  async settle(timeoutMs = 30_000): Promise<EngineSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const snapshot = await this.snapshot();
      if (snapshot.syncState === 'synced' && snapshot.sent.every((m) => m.state !== 'sending')) return snapshot;
      if (Date.now() > deadline) throw new Error(`${this.deviceId} did not settle: ${snapshot.syncState}, ${snapshot.sent.filter((m) => m.state === 'sending').length} sending, failures ${snapshot.syncFailures.slice(-3).join('; ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    if (!this.#exited) await this.call({ kind: 'close' }, 10_000).catch(() => undefined);
    await this.#worker.terminate();
  }
}
