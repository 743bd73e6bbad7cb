/**
 * The seed's listener calls, whole: `on(...)` returns the function that removes that listener, and
 * `removeAllListeners(event?)` exists on every service. Each check registers a listener that must
 * keep firing next to the removed one, so "the removed one was not called" is read only after the
 * same emit reached the one that stayed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type Message } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { codeOf, eventually, openServices, type ServiceHarness } from './services.helpers.js';

let server: ConvSyncServer;
const open: ServiceHarness[] = [];
async function services(): Promise<ServiceHarness> {
  const harness = await openServices({ accountId: 'alice', server });
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

describe('listener calls', () => {
  it('the function on() returns removes that listener only', async () => {
    const { conversationService: cs } = await services();
    const removed: string[] = [];
    const kept: string[] = [];
    const off = cs.on('onConversationCreated', (c) => removed.push(c.conversationId));
    cs.on('onConversationCreated', (c) => kept.push(c.conversationId));
    await cs.createConversation('alice|1|bob');
    await eventually(() => kept.length === 1);
    expect(removed).toEqual(['alice|1|bob']);
    off();
    off(); // a second call is harmless
    await cs.createConversation('alice|1|carol');
    await eventually(() => kept.length === 2);
    expect(removed).toEqual(['alice|1|bob']);
  });

  it('conversationService.removeAllListeners(event) clears that event; without an event it clears every one', async () => {
    const { conversationService: cs } = await services();
    const created: string[] = [];
    const changed: string[][] = [];
    const deleted: string[][] = [];
    cs.on('onConversationCreated', (c) => created.push(c.conversationId));
    cs.on('onConversationChanged', (list) => changed.push(list.map((c) => c.conversationId)));
    cs.on('onConversationDeleted', (ids) => deleted.push(ids));
    cs.removeAllListeners('onConversationCreated');
    await cs.createConversation('alice|1|bob');
    await cs.stickTopConversation('alice|1|bob', true);
    await eventually(() => changed.length > 0);
    expect(created).toEqual([]);

    cs.removeAllListeners();
    const after: string[][] = [];
    cs.on('onConversationDeleted', (ids) => after.push(ids));
    await cs.deleteConversation('alice|1|bob');
    await eventually(() => after.length === 1);
    expect(deleted).toEqual([]);
  });

  it('conversationGroupService: on() returns a remover and removeAllListeners clears the service', async () => {
    const { conversationGroupService: gs } = await services();
    const removed: string[] = [];
    const kept: string[] = [];
    const off = gs.on('onConversationGroupCreated', (g) => removed.push(g.name));
    gs.on('onConversationGroupCreated', (g) => kept.push(g.name));
    off();
    await gs.createConversationGroup('friends');
    await eventually(() => kept.length === 1);
    expect(removed).toEqual([]);

    gs.removeAllListeners();
    const later: string[] = [];
    gs.on('onConversationGroupDeleted', (id) => later.push(id));
    const { group } = await gs.createConversationGroup('work');
    await gs.deleteConversationGroup(group.groupId);
    await eventually(() => later.length === 1);
    expect(kept).toEqual(['friends']);
  });

  it('messageService: a removed onSendMessage listener hears nothing of a delivered message', async () => {
    const harness = await services();
    const ms = harness.messageService;
    const removed: Message[] = [];
    const kept: Message[] = [];
    const off = ms.on('onSendMessage', (m) => removed.push(m));
    ms.on('onSendMessage', (m) => kept.push(m));
    off();
    await ms.sendMessage('alice|1|bob', { text: 'hi' });
    harness.transport.connect();
    await eventually(() => kept.length === 1);
    expect(removed).toEqual([]);
    ms.removeAllListeners('onSendMessage');
    await ms.sendMessage('alice|1|bob', { text: 'again' });
    await eventually(async () => (await harness.ctx.replica.outbox.count().exec()) === 0);
    expect(kept).toHaveLength(1);
  });

  it('removeAllListeners refuses an unknown event with 191004', async () => {
    const { conversationService: cs, conversationGroupService: gs, messageService: ms } = await services();
    const unknown = 'onTypo' as never;
    expect(await codeOf(Promise.resolve().then(() => cs.removeAllListeners(unknown)))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(Promise.resolve().then(() => gs.removeAllListeners(unknown)))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(Promise.resolve().then(() => ms.removeAllListeners(unknown)))).toBe(ErrorCode.INVALID_PARAMETER);
  });
});
