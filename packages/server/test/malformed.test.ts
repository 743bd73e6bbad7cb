import { ClientEvent, ErrorCode, PROTOCOL_VERSION } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, localDoc } from './helpers.js';

const huge = 'x'.repeat(6000);
const doc = localDoc('alice|1|bob');

const malformed: Record<string, unknown[]> = {
  [ClientEvent.SESSION_INFO]: ['text', 42, true],
  [ClientEvent.PULL]: [
    undefined, null, 'x', {}, { collection: 'nope', checkpoint: null, batchSize: 10 },
    { collection: 'conversations', checkpoint: { seq: -1 }, batchSize: 10 },
    { collection: 'conversations', checkpoint: null, batchSize: 0 },
    { collection: 'conversations', checkpoint: null, batchSize: 1e9 },
    { collection: 'conversations', checkpoint: 'abc', batchSize: 10 },
    { collection: 'conversations', checkpoint: null, batchSize: 1.5 },
  ],
  [ClientEvent.PUSH]: [
    undefined, null, [], { collection: 'conversations' }, { collection: 'conversations', rows: [] },
    { collection: 'conversations', rows: [{ newDocumentState: { ...doc, conversationId: 'not an id' } }] },
    { collection: 'conversations', rows: [{ newDocumentState: { ...doc, serverExtension: huge } }] },
    { collection: 'conversations', rows: [{ newDocumentState: { ...doc, clock: { ...doc.clock, stickTop: 'yesterday' } } }] },
    { collection: 'conversations', rows: [{ newDocumentState: { ...doc, type: 9 } }] },
    { collection: 'conversations', rows: [{ newDocumentState: { ...doc, type: 2 } }] },
    { collection: 'conversationGroups', rows: [{ newDocumentState: doc }] },
    { collection: 'conversations', rows: Array.from({ length: 501 }, () => ({ newDocumentState: doc })) },
  ],
  [ClientEvent.MESSAGE_SEND]: [
    undefined, {}, { clientMessageId: 'c', conversationId: 'alice|1|bob' },
    { clientMessageId: 'c', conversationId: 'alice|7|bob', text: 'x' },
    { clientMessageId: 'c|d', conversationId: 'alice|1|bob', text: 'x' },
    { clientMessageId: 'c', conversationId: 'alice|1|bob', text: huge },
    { clientMessageId: 'c', conversationId: 'alice|1|bob', text: 'x', messageType: 7 },
  ],
  [ClientEvent.MESSAGE_LIST]: [
    undefined, {}, { conversationId: 'alice|1|bob' }, { conversationId: 'alice|1|bob', limit: 0 },
    { conversationId: 'alice|1|bob', limit: 101 }, { conversationId: 'alice|1|bob', limit: 10, beforeTime: -5 },
    { conversationId: 'alice||bob', limit: 10 },
  ],
};

describe('malformed input', () => {
  const h = new Harness();
  afterEach(() => h.close());

  for (const [event, payloads] of Object.entries(malformed)) {
    it(`${event}: every malformed payload gets 191004 and the server keeps serving`, async () => {
      const server = await h.server();
      const alice = await h.client(server, 'alice');
      for (const payload of payloads) {
        const answer = await alice.request(event, payload);
        expect(answer, JSON.stringify(payload)?.slice(0, 200)).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMETER } });
      }
      expect(await alice.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true, accountId: 'alice' });
      expect((await alice.pullAll()).documents).toEqual([]);
    });
  }

  it('unknown events are answered with 191004; frames without an ack are ignored safely', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    expect(await alice.request('sync:drop-table', { x: 1 })).toMatchObject({ ok: false, error: { code: 191004 } });
    expect(await alice.request('__proto__', {})).toMatchObject({ ok: false, error: { code: 191004 } });
    expect(await alice.request('constructor')).toMatchObject({ ok: false, error: { code: 191004 } });
    alice.socket.emit('sync:push', { garbage: true });
    alice.socket.emit('nonsense');
    alice.socket.emit(ClientEvent.PULL, 1, 2, 3);
    expect(await alice.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true });
  });

  it('an oversized frame closes only that socket; the server keeps serving', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const closed = new Promise<string>((resolve) => alice.socket.once('disconnect', resolve));
    alice.socket.emit(ClientEvent.PUSH, { blob: 'x'.repeat(2_000_000) }, () => undefined);
    expect(await closed).toMatch(/transport/);
    const bob = await h.client(server, 'bob');
    expect(await bob.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true, accountId: 'bob' });
  });

  it('an account over its rate limit gets 416 with a retry hint, other accounts are unaffected', async () => {
    const server = await h.server({ limits: { eventsPerAccount: { points: 5, durationSeconds: 60 } } });
    const alice = await h.client(server, 'alice');
    const answers = await Promise.all(Array.from({ length: 8 }, () => alice.request(ClientEvent.SESSION_INFO, {})));
    expect(answers.filter((a) => a.ok)).toHaveLength(5);
    const refused = answers.flatMap((a) => (a.ok ? [] : [a.error]));
    expect(refused).toHaveLength(3);
    for (const error of refused) {
      expect(error.code).toBe(ErrorCode.RATE_LIMITED);
      expect(error.detail?.retryAfterMs).toBeGreaterThan(50_000);
    }
    expect(alice.socket.connected).toBe(true);
    const bob = await h.client(server, 'bob');
    expect(await bob.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/convsync_rate_limited_total\{scope="account"\} 3/);
    expect(metrics).toMatch(/convsync_errors_total\{code="416"\} 3/);
  });

  it('a handshake with a malformed device id is refused without crashing', async () => {
    const server = await h.server();
    const token = await server.issueToken('alice');
    const socket = h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION, deviceId: 'bad device id!' });
    const data = await new Promise((resolve) => socket.once('connect_error', (e: Error & { data?: unknown }) => resolve(e.data)));
    expect(data).toMatchObject({ code: 191004 });
  });
});
