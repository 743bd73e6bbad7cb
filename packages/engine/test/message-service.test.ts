import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type Message } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { codeOf, eventually, openServices, type ServiceHarness } from './services.helpers.js';

let server: ConvSyncServer;
const open: ServiceHarness[] = [];
async function services(accountId = 'alice'): Promise<ServiceHarness> {
  const harness = await openServices({ accountId, server });
  open.push(harness);
  return harness;
}
beforeEach(async () => {
  server = await startServer({ database: ':memory:', port: 0 });
});
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
  await server.close();
});

describe('messageService', () => {
  it('a message sent offline is stored at once, shown as the last message, and delivered once on connect', async () => {
    const harness = await services();
    const ms = harness.messageService;
    const sent: Message[] = [];
    ms.on('onSendMessage', (m) => sent.push(m));
    const message = await ms.sendMessage('alice|1|bob', { text: 'hi bob' });
    expect(message).toMatchObject({ sendingState: 'sending', text: 'hi bob', senderId: 'alice', receiverId: 'bob' });
    const conversation = await harness.conversationService.getConversation('alice|1|bob');
    expect(conversation.lastMessage?.text).toBe('hi bob');
    expect(await codeOf(ms.getMessageList('alice|1|bob', { limit: 10 }))).toBe(ErrorCode.OFFLINE);
    harness.transport.connect();
    await eventually(() => sent.length === 1);
    expect(sent[0]).toMatchObject({ sendingState: 'succeeded', messageClientId: message.messageClientId, text: 'hi bob' });
    expect(await harness.ctx.replica.outbox.count().exec()).toBe(0);
    const history = await ms.getMessageList('alice|1|bob', { limit: 10 });
    expect(history.map((m) => [m.text, m.sendingState])).toEqual([['hi bob', 'succeeded']]);
    // Reconnecting does not send it again.
    harness.transport.disconnect();
    harness.transport.connect();
    await eventually(async () => (await ms.getMessageList('alice|1|bob', { limit: 10 }).catch(() => null)) !== null);
    expect(await ms.getMessageList('alice|1|bob', { limit: 10 })).toHaveLength(1);
  });

  it('messages sent offline arrive once each, in order', async () => {
    const harness = await services();
    const ms = harness.messageService;
    for (let i = 0; i < 5; i++) await ms.sendMessage('alice|1|bob', { text: `m${i}` });
    const pending = await ms.getMessageList('alice|1|bob', { limit: 10 }).catch((e: unknown) => e);
    expect(pending).toMatchObject({ code: ErrorCode.OFFLINE });
    harness.transport.connect();
    await eventually(async () => (await harness.ctx.replica.outbox.count().exec()) === 0);
    const bob = await services('bob');
    bob.transport.connect();
    await eventually(async () => (await bob.messageService.getMessageList('bob|1|alice', { limit: 10 }).catch(() => [])).length === 5);
    const history = await bob.messageService.getMessageList('bob|1|alice', { limit: 10 });
    expect(history.map((m) => m.text)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    const older = await bob.messageService.getMessageList('bob|1|alice', { limit: 2, beforeTime: history[2]?.createTime ?? 0 });
    expect(older.map((m) => m.text)).toEqual(['m1', 'm0']);
  });

  it('a message the server refuses becomes failed with its error and is not retried', async () => {
    const harness = await services();
    const ms = harness.messageService;
    const sent: Message[] = [];
    ms.on('onSendMessage', (m) => sent.push(m));
    await ms.sendMessage('alice|2|noteam', { text: 'hello?' });
    harness.transport.connect();
    await eventually(() => sent.length === 1);
    expect(sent[0]?.sendingState).toBe('failed');
    const outbox = await harness.ctx.replica.outbox.find().exec();
    expect(outbox.map((o) => o.state)).toEqual(['failed']);
    expect([ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND]).toContain(outbox[0]?.errorCode);
    expect(await codeOf(ms.getMessageList('alice|2|noteam', { limit: 10 }))).toBe(ErrorCode.FORBIDDEN);
  });

  it('refuses bad input with 191004 and stores nothing', async () => {
    const harness = await services();
    const ms = harness.messageService;
    expect(await codeOf(ms.sendMessage('alice|1|bob', { text: 'x'.repeat(5001) }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(ms.sendMessage('bob|1|alice', { text: 'x' }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(ms.sendMessage('alice|1|bob', { text: 'x', messageType: 5 as 0 }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(ms.getMessageList('alice|1|bob', { limit: 0 }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await harness.ctx.replica.outbox.count().exec()).toBe(0);
  });
});
