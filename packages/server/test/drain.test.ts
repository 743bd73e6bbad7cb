/**
 * Draining for a restart: the process stops accepting (handshakes refused as `draining`, /readyz
 * 503), tells every device to move with delays spread over the window, answers what is in flight,
 * and closes; the command line does this on SIGTERM and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientEvent, ErrorCode, PROTOCOL_VERSION, type ConnectErrorData, type SessionMove } from '@convsync/protocol';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, localDoc, type Client } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** Resolves with the `session:move` the client receives. */
function moveOf(client: Client): Promise<SessionMove> {
  return new Promise((resolve) => client.socket.once('session:move', resolve));
}

describe('drain', () => {
  const h = new Harness();
  const dirs: string[] = [];
  afterEach(async () => {
    await h.close();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('stops accepting, spreads the moves over the window, and closes once every device has moved', async () => {
    const server = await h.server();
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => h.client(server, `acct${i}`)));
    const moves = clients.map(moveOf);
    const windowMs = 1500;
    const started = Date.now();
    const drained = server.drain({ windowMs });
    expect(server.draining).toBe(true);

    const delays = (await Promise.all(moves)).map((move) => move.reconnectInMs);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(windowMs);
    }
    // Spread, not all at once: with 20 uniform draws, both halves of the window are used.
    expect(delays.some((d) => d < windowMs / 2) && delays.some((d) => d >= windowMs / 2)).toBe(true);

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ draining: true });
    const token = await server.issueToken('late');
    const late = h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION });
    const refusal = await new Promise<ConnectErrorData | undefined>((resolve) => late.once('connect_error', (e: Error & { data?: ConnectErrorData }) => resolve(e.data)));
    expect(refusal?.code).toBe(ErrorCode.SERVER_UNREACHABLE);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/convsync_handshakes_refused_total\{reason="draining"\} 1/);
    await expect(server.connectInProcess(token)).rejects.toMatchObject({ code: ErrorCode.SERVER_UNREACHABLE });

    // Devices move when told; the drain ends when the last has gone, not at the end of a fixed wait.
    clients.forEach((client, i) => setTimeout(() => client.socket.disconnect(), delays[i]));
    await drained;
    expect(Date.now() - started).toBeLessThan(windowMs + 1000);
  });

  it('answers every request in flight: each acknowledged push is in the store after the restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convsync-drain-'));
    dirs.push(dir);
    const database = join(dir, 'db.sqlite');
    const secret = 'drain-test-secret';
    const server = await h.server({ database, secret });
    const client = await h.client(server, 'alice');
    const acknowledged: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const id = `alice|1|peer${i}`;
        const answer = await client.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ assumedMasterState: null, newDocumentState: localDoc(id) }] }).catch(() => undefined);
        if (answer?.ok === true) acknowledged.push(id);
        if (answer === undefined || !answer.ok) return;
      }
    })();
    while (acknowledged.length < 20) await new Promise((resolve) => setTimeout(resolve, 5));
    // The device keeps writing until the server closes it: no move handling, the window passes.
    await server.drain({ windowMs: 200 });
    stop = true;
    await writer;

    const again = await h.server({ database, secret });
    const reader = await h.client(again, 'alice');
    const { documents } = await reader.pullAll();
    const stored = new Set(documents.map((doc) => doc.conversationId));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });

  it('the command line drains on SIGTERM within --drain-window and exits 0', async () => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, '--port', '0', '--db', ':memory:', '--secret', 'drain-cli', '--drain-window', '800', '--dev'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /"msg":"server listening".*?"url":"([^"]+)"|"url":"([^"]+)".*?"msg":"server listening"/.exec(stderr);
        if (match !== null) resolve((match[1] ?? match[2]) as string);
      });
      child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    try {
      const { token } = (await (await fetch(`${url}/dev/token`, { method: 'POST', body: '{"accountId":"alice"}' })).json()) as { token: string };
      const socket = io(url, { auth: { token, protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false, forceNew: true });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const moved = new Promise<SessionMove>((resolve) => socket.once('session:move', (move: SessionMove) => {
        setTimeout(() => socket.disconnect(), move.reconnectInMs);
        resolve(move);
      }));
      const started = Date.now();
      child.kill('SIGTERM');
      expect((await moved).reconnectInMs).toBeLessThan(800);
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(stderr).toMatch(/"msg":"drained"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
