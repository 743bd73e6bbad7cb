import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli as run, type Running } from './cli-process.js';

async function waitForLine(running: Running, msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = running.lines.find((l) => l.msg === msg);
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line; got ${JSON.stringify(running.lines)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('command line', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('starts, answers /healthz, /metrics and dev tokens, serves sockets, and shuts down cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convsync-cli-'));
    dirs.push(dir);
    const running = run(['--port', '0', '--db', join(dir, 'db.sqlite'), '--secret', 'cli-test-secret', '--dev', '--drain-window', '0']);
    children.push(running.child);
    const { url } = (await waitForLine(running, 'server listening')) as { url: string };
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const tokenAnswer = await fetch(`${url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'alice' }) });
    expect(tokenAnswer.status).toBe(200);
    const { token } = (await tokenAnswer.json()) as { token: string };
    const bad = await fetch(`${url}/dev/token`, { method: 'POST', body: '{"accountId":"a|b"}' });
    expect(bad.status).toBe(400);
    await bad.text();
    const socket = io(url, { auth: { token, protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
    const info: unknown = await socket.timeout(5000).emitWithAck(ClientEvent.SESSION_INFO, {});
    expect(info).toMatchObject({ ok: true, accountId: 'alice' });
    await socket.timeout(5000).emitWithAck(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 10 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^convsync_connections 1$/m);
    expect(metrics).toMatch(/^convsync_pulls_total 1$/m);
    expect(metrics).toMatch(/^convsync_pushes_total 0$/m);
    expect(metrics).toMatch(/^convsync_messages_total 0$/m);
    const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    await disconnected;
    await waitForLine(running, 'server closed');
  });

  it('keeps /dev/token off unless --dev is given', async () => {
    const running = run(['--port', '0', '--db', ':memory:', '--log-level', 'info']);
    children.push(running.child);
    const { url } = (await waitForLine(running, 'server listening')) as { url: string };
    const answer = await fetch(`${url}/dev/token`, { method: 'POST', body: '{"accountId":"alice"}' });
    expect(answer.status).toBe(404);
    await answer.text();
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
  });

  it('prints help, and exits with a clear error when the postgres URL does not answer', async () => {
    const help = run(['--help']);
    let out = '';
    help.child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    expect(await help.exited).toBe(0);
    expect(out).toMatch(/--port/);
    const pg = run(['--port', '0', '--db', 'postgres://postgres@127.0.0.1:1/test']);
    children.push(pg.child);
    expect(await pg.exited).toBe(1);
    expect(JSON.stringify(pg.lines)).toMatch(/PostgreSQL store could not start/);
  });

  it('answers --version and -v with the package version and the wire protocol version, without starting', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const running = run([flag]);
      children.push(running.child);
      let out = '';
      running.child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      expect(await running.exited).toBe(0);
      expect(out).toBe(`convsync-server ${manifest.version} (wire protocol ${PROTOCOL_VERSION})\n`);
      expect(running.lines).toEqual([]);
    }
  });

  it('refuses an unknown flag with a clear error and exit status 1', async () => {
    const running = run(['--no-such-flag']);
    children.push(running.child);
    expect(await running.exited).toBe(1);
    expect(JSON.stringify(running.lines)).toMatch(/no-such-flag/);
  });
});
