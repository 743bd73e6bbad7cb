import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './helpers.js';

describe('server basics', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('answers session:info with the token account and the server clock', async () => {
    const server = await h.server({ now: () => 1_700_000_000_000 });
    const alice = await h.client(server, 'alice');
    const info = await alice.ok<{ accountId: string; serverTime: number; protocolVersion: number; tokenExpiresAt: number }>(ClientEvent.SESSION_INFO, {});
    expect(info).toMatchObject({ ok: true, accountId: 'alice', serverTime: 1_700_000_000_000, protocolVersion: PROTOCOL_VERSION });
    expect(info.tokenExpiresAt).toBeGreaterThan(1_700_000_000_000);
  });
});
