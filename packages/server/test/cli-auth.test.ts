/**
 * The command line's identity-provider flags and variables: `--jwks`, `--audience`,
 * `--account-claim` and `CONVSYNC_ISSUER` reach `startServer({ auth })`, tokens of the provider are
 * accepted through the real process, and a malformed setting stops the start with a clear line.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli as run } from './cli-process.js';

async function listeningUrl(lines: Record<string, unknown>[], exited: Promise<number | null>): Promise<string> {
  let done = false;
  void exited.then(() => { done = true; });
  for (;;) {
    const line = lines.find((l) => l.msg === 'server listening');
    if (line !== undefined) return line.url as string;
    if (done) throw new Error(`the server exited: ${JSON.stringify(lines)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function connectOutcome(socket: Socket): Promise<{ connected: true } | { connected: false; data: unknown }> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ connected: false, data: error.data }));
  });
}

describe('command line: the identity provider', () => {
  const children: ChildProcess[] = [];
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const close of closers.splice(0)) close();
  });

  it('accepts tokens of the JWKS named by --jwks, with --audience, --account-claim and CONVSYNC_ISSUER', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const http = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    closers.push(() => http.close());
    const jwksUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks.json`;

    const running = run(['--port', '0', '--db', ':memory:', '--jwks', jwksUrl, '--audience', 'chat-app', '--account-claim', 'uid'], {
      CONVSYNC_ISSUER: 'https://idp.test, https://other-idp.test',
    });
    children.push(running.child);
    const url = await listeningUrl(running.lines, running.exited);
    const token = (audience: string): Promise<string> => new SignJWT({ uid: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://other-idp.test')
      .setAudience(audience)
      .setExpirationTime('1h')
      .sign(privateKey);

    const accepted = io(url, { auth: { token: await token('chat-app'), protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
    closers.push(() => accepted.disconnect());
    expect(await connectOutcome(accepted)).toEqual({ connected: true });
    expect(await accepted.timeout(5000).emitWithAck(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true, accountId: 'alice' });

    const refused = io(url, { auth: { token: await token('another-app'), protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
    closers.push(() => refused.disconnect());
    expect(await connectOutcome(refused)).toMatchObject({ connected: false, data: { code: 302 } });
  });

  it('refuses to start on a malformed --jwks, naming it', async () => {
    const running = run(['--port', '0', '--db', ':memory:', '--jwks', 'ftp://idp.test/keys'], {});
    children.push(running.child);
    expect(await running.exited).toBe(1);
    expect(JSON.stringify(running.lines)).toMatch(/auth\.jwks/);
  });
});
