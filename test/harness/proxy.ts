/**
 * A TCP proxy on loopback between devices and the server, to inject network faults without
 * touching either side:
 * - `delay(ms)`: every chunk waits `ms` in each direction (order kept);
 * - `blackhole()`: connections stay open but every byte is dropped (a dead Wi-Fi);
 * - `cut()`: every connection is closed and new ones are closed at once, until `heal()`;
 * - `reset()`: every open connection is reset (RST), new ones pass;
 * - `heal()`: back to a clean pass-through.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './ports.js';

type Mode = 'pass' | 'blackhole' | 'cut';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class FaultProxy {
  port = 0;
  #server: Server | undefined;
  #pairs = new Set<Pair>();
  #mode: Mode = 'pass';
  #delayMs = 0;
  /** Counters, for the reliability report. */
  readonly stats = { connections: 0, cuts: 0, resets: 0, blackholes: 0, delays: 0 };

  constructor(readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  delay(ms: number): void {
    this.#delayMs = ms;
    this.stats.delays++;
  }

  blackhole(): void {
    this.#mode = 'blackhole';
    this.stats.blackholes++;
  }

  cut(): void {
    this.#mode = 'cut';
    this.stats.cuts++;
    for (const pair of [...this.#pairs]) this.#close(pair);
  }

  reset(): void {
    this.stats.resets++;
    for (const pair of [...this.#pairs]) {
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
      this.#pairs.delete(pair);
    }
  }

  /** A clean pass-through again; blackholed connections are closed so their peers reconnect. */
  heal(): void {
    const wasBlackhole = this.#mode === 'blackhole';
    this.#mode = 'pass';
    this.#delayMs = 0;
    if (wasBlackhole) for (const pair of [...this.#pairs]) this.#close(pair);
  }

  async close(): Promise<void> {
    for (const pair of [...this.#pairs]) this.#close(pair);
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    if (this.#mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#forward(client, upstream);
    this.#forward(upstream, client);
    const end = (): void => this.#close(pair);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  #forward(from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (this.#mode !== 'pass') return;
      const delay = this.#delayMs;
      if (delay === 0) {
        chain = chain.then(() => {
          if (!to.destroyed) to.write(chunk);
        });
        return;
      }
      chain = chain.then(() => new Promise<void>((resolve) => {
        setTimeout(() => {
          if (!to.destroyed && this.#mode === 'pass') to.write(chunk);
          resolve();
        }, delay);
      }));
    });
  }

  #close(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
