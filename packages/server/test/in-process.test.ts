import { ClientEvent, ErrorCode, type ConversationDoc, type StreamEvent } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, localDoc, waitFor } from './helpers.js';

describe('connectInProcess', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('rejects a bad token with 302', async () => {
    const server = await h.server();
    await expect(server.connectInProcess('nope')).rejects.toMatchObject({ code: ErrorCode.AUTH_FAILED });
    const other = await h.server();
    await expect(server.connectInProcess(await other.issueToken('alice'))).rejects.toMatchObject({ code: ErrorCode.AUTH_FAILED });
  });

  it('serves the same handlers and validation as a socket, and shares the account stream with sockets', async () => {
    const server = await h.server();
    const endpoint = await server.connectInProcess(await server.issueToken('alice'), { deviceId: 'mem' });
    const events: StreamEvent[] = [];
    endpoint.onStream((event) => events.push(event));
    expect(await endpoint.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true, accountId: 'alice' });
    expect(await endpoint.request(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 0 }))
      .toMatchObject({ ok: false, error: { code: 191004 } });
    expect(await endpoint.request('whatever', {})).toMatchObject({ ok: false, error: { code: 191004 } });
    const socket = await h.client(server, 'alice');
    await socket.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|bob') }] });
    await waitFor(() => events.length === 1, 5000, 'in-process stream event');
    expect((events[0]?.documents[0] as ConversationDoc).conversationId).toBe('alice|1|bob');
    const pushed = await endpoint.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|carol') }] });
    expect(pushed).toMatchObject({ ok: true, collection: 'conversations' });
    await waitFor(() => socket.streams.length === 2 && events.length === 2, 5000, 'stream to both');
    const pulled = await endpoint.request(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 10 });
    expect(pulled).toMatchObject({ ok: true, checkpoint: { seq: 2 }, hasMore: false });
    const bob = await server.connectInProcess(await server.issueToken('bob'));
    const bobEvents: StreamEvent[] = [];
    bob.onStream((event) => bobEvents.push(event));
    await endpoint.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'c1', conversationId: 'alice|1|bob', text: 'hi' });
    await waitFor(() => bobEvents.length === 1 && events.length === 3, 5000, 'message streams');
    expect((bobEvents[0]?.documents[0] as ConversationDoc)).toMatchObject({ conversationId: 'bob|1|alice', unreadCount: 1 });
  });

  it('answers 192004 after close and delivers no more stream events', async () => {
    const server = await h.server();
    const endpoint = await server.connectInProcess(await server.issueToken('alice'));
    const events: StreamEvent[] = [];
    endpoint.onStream((event) => events.push(event));
    endpoint.close();
    expect(await endpoint.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: false, error: { code: ErrorCode.OFFLINE } });
    const socket = await h.client(server, 'alice');
    await socket.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|bob') }] });
    await waitFor(() => socket.streams.length === 1, 5000, 'socket stream');
    expect(events).toEqual([]);
  });

  it('answers are copies: mutating them never touches the server or other sessions', async () => {
    const server = await h.server();
    const a = await server.connectInProcess(await server.issueToken('alice'));
    const b = await server.connectInProcess(await server.issueToken('alice'));
    const seenA: StreamEvent[] = [];
    const seenB: StreamEvent[] = [];
    a.onStream((e) => {
      (e.documents[0] as ConversationDoc).name = 'mutated';
      seenA.push(e);
    });
    b.onStream((e) => seenB.push(e));
    await a.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|bob') }] });
    await waitFor(() => seenA.length === 1 && seenB.length === 1, 5000, 'streams');
    expect((seenB[0]?.documents[0] as ConversationDoc).name).toBe('');
  });

  it('the session closes when the server closes', async () => {
    const server = await startAndClose(h);
    expect(await server.endpoint.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: false, error: { code: ErrorCode.OFFLINE } });
  });
});

async function startAndClose(h: Harness) {
  const server = await h.server();
  const endpoint = await server.connectInProcess(await server.issueToken('alice'));
  await server.close();
  return { endpoint };
}
