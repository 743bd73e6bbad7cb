/**
 * The server is SIGKILLed at each of the three points of a write's life — before the commit,
 * after the commit but before the acknowledgement, after the acknowledgement — and restarted on
 * the same SQLite file and port. A write that was not committed is absent and its retry applies
 * once; a committed write survives, and its retry (the device never heard the answer) is a no-op;
 * an acknowledged write is never lost; a retried message exists exactly once.
 */
import { ClientEvent, ConversationType, type ConversationDoc } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerProcess, type CrashFault } from '../harness/server-process.js';
import { NO_ACK, WireClient } from '../harness/wire-client.js';
import { pinned } from '../security/fixtures.js';

const POINTS: CrashFault['point'][] = ['crash-before-commit', 'crash-after-commit', 'crash-after-ack'];

function extension(id: string, text: string): ConversationDoc {
  const doc = pinned(id);
  return { ...doc, serverExtension: text, clock: { ...doc.clock, serverExtension: doc.clock.stickTop } };
}

async function messagesOf(client: WireClient, conversationId: string): Promise<string[]> {
  const answer = await client.request(ClientEvent.MESSAGE_LIST, { conversationId, limit: 100 });
  if (!answer.ok) throw new Error(`message:list refused: ${answer.error.code}`);
  return (answer.messages as { messageClientId: string }[]).map((m) => m.messageClientId).sort();
}

describe('server crashes at three points of a write', () => {
  let server: ServerProcess | undefined;
  const clients: WireClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.dispose();
    server = undefined;
  });

  const connect = async (account: string) => {
    const client = await WireClient.connect({ url: (server as ServerProcess).url, token: (server as ServerProcess).token(account) });
    clients.push(client);
    return client;
  };

  it.each(POINTS)('sync:push killed at %s: acknowledged writes survive, the retry applies exactly once', async (point) => {
    server = new ServerProcess();
    await server.start({ faults: [{ point, event: ClientEvent.PUSH, nth: 2 }] });
    const alice = await connect('alice');
    const first = await alice.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: pinned('alice|1|bob') }] });
    expect(first.ok).toBe(true);
    const second = { collection: 'conversations', rows: [{ newDocumentState: extension('alice|1|carol', 'second write') }] };
    const answer = await alice.request(ClientEvent.PUSH, second, 5000);
    expect(answer.ok).toBe(point === 'crash-after-ack');
    if (point !== 'crash-after-ack') expect(answer).toEqual(NO_ACK);
    await server.whenExited();
    expect(server.crashes).toBe(0);
    await server.start();
    const after = await connect('alice');
    const before = await after.pullAll('conversations');
    const carol = before.find((d) => d.conversationId === 'alice|1|carol');
    // The crash happened where it was asked to: absent before the commit, present after it.
    if (point === 'crash-before-commit') expect(carol).toBeUndefined();
    else expect(carol?.serverExtension).toBe('second write');
    expect(before.find((d) => d.conversationId === 'alice|1|bob')?.stickTop).toBe(true);
    // The device retries what it never saw acknowledged; the result is the same as one delivery.
    if (!answer.ok) expect((await after.request(ClientEvent.PUSH, second)).ok).toBe(true);
    const docs = await after.pullAll('conversations');
    expect(docs.map((d) => [d.conversationId, d.stickTop, d.serverExtension]).sort()).toEqual([
      ['alice|1|bob', true, ''],
      ['alice|1|carol', true, 'second write'],
    ]);
  });

  it.each(POINTS)('message:send killed at %s: the message exists exactly once after the retry', async (point) => {
    server = new ServerProcess();
    await server.start({ faults: [{ point, event: ClientEvent.MESSAGE_SEND, nth: 2 }] });
    const alice = await connect('alice');
    const m1 = { clientMessageId: 'm1', conversationId: 'alice|1|bob', text: 'one' };
    const m2 = { clientMessageId: 'm2', conversationId: 'alice|1|bob', text: 'two' };
    expect((await alice.request(ClientEvent.MESSAGE_SEND, m1)).ok).toBe(true);
    const answer = await alice.request(ClientEvent.MESSAGE_SEND, m2, 5000);
    expect(answer.ok).toBe(point === 'crash-after-ack');
    await server.whenExited();
    await server.start();
    const again = await connect('alice');
    expect(await messagesOf(again, 'alice|1|bob')).toEqual(point === 'crash-before-commit' ? ['m1'] : ['m1', 'm2']);
    // The outbox retries until acknowledged, and a retry is idempotent.
    expect((await again.request(ClientEvent.MESSAGE_SEND, m2)).ok).toBe(true);
    expect((await again.request(ClientEvent.MESSAGE_SEND, m2)).ok).toBe(true);
    expect(await messagesOf(again, 'alice|1|bob')).toEqual(['m1', 'm2']);
    const bob = await connect('bob');
    expect(await messagesOf(bob, 'bob|1|alice')).toEqual(['m1', 'm2']);
    const [conversation] = await bob.pullAll('conversations');
    expect(conversation?.unreadCount).toBe(2);
    expect(conversation?.type).toBe(ConversationType.P2P);
  });
});
