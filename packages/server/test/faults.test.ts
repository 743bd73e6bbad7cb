/**
 * Crash points are test-only: a plan is refused when malformed, and the shipped command line arms
 * nothing, whatever its environment says (the crash itself is proven by the system suite's
 * `crash-points.test.ts`, whose harness passes `startServer({ faults })` in a child process).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { faultInjector, type FaultPlan } from '../src/faults.js';
import { localDoc } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

describe('crash points', () => {
  it('refuses a malformed plan instead of running a test without its crash', () => {
    for (const plan of [
      [{ point: 'crash-somewhere', event: 'sync:push', nth: 1 }],
      [{ point: 'crash-after-commit', event: '', nth: 1 }],
      [{ point: 'crash-after-commit', event: 'sync:push', nth: 0 }],
    ]) {
      expect(() => faultInjector(plan as unknown as FaultPlan), JSON.stringify(plan)).toThrow(/malformed fault/);
    }
  });

  it('leaves the store and the dispatcher untouched without a plan', () => {
    const injector = faultInjector(undefined);
    const store = {} as Parameters<typeof injector.wrapStore>[0];
    expect(injector.wrapStore(store)).toBe(store);
  });

  it('cannot be armed through the environment of the shipped command line', async () => {
    const secret = 'faults-test-secret-0123456789abcdef';
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI,
      '--port', '0', '--db', ':memory:', '--secret', secret, '--dev'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, CONVSYNC_FAULT: 'crash-before-commit:sync:push:1,crash-after-commit:sync:pull:1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const line = stderr.split('\n').find((l) => l.includes('"msg":"server listening"'));
          const match = line === undefined ? null : /"url":"([^"]+)"/.exec(line);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error(`the CLI exited: ${stderr}`)));
      });
      const { token } = (await (await fetch(`${url}/dev/token`, { method: 'POST', body: '{"accountId":"alice"}' })).json()) as { token: string };
      const socket = io(url, { auth: { token, protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const push = await socket.timeout(10_000).emitWithAck(ClientEvent.PUSH, {
          collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|bob') }],
        }) as { ok: boolean };
        const pull = await socket.timeout(10_000).emitWithAck(ClientEvent.PULL, { collection: 'conversations', checkpoint: { seq: 0 }, batchSize: 10 }) as { ok: boolean };
        expect([push.ok, pull.ok]).toEqual([true, true]);
      } finally {
        socket.disconnect();
      }
      // Both answers came: an armed point would have killed the process before either was sent.
      expect(child.exitCode).toBeNull();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).not.toBe('SIGKILL');
    }
  });
});
