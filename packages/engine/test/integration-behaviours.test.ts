/** The named behaviours of issue 3, end to end over socket.io. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '@convsync/protocol';
import { eventually } from './services.helpers.js';
import { record, startCluster, synced, type Cluster, type StorageKind } from './integration.helpers.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('named behaviours', () => {
  it('an offline mark-read clears unread at once and survives a server restart', async () => {
    cluster = await startCluster({ file: true });
    const a = await cluster.device('alice');
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'one' });
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'two' });
    await eventually(() => a.conversationService.getTotalUnreadCount() === 2);
    a.disconnect();
    await a.conversationService.markConversationRead('alice|1|bob');
    expect(a.conversationService.getTotalUnreadCount()).toBe(0);
    await cluster.restartServer();
    a.connect();
    await synced(a);
    expect(a.conversationService.getTotalUnreadCount()).toBe(0);
    await cluster.restartServer();
    // A fresh device after the second restart reads the read state from the server's file.
    const fresh = await cluster.device('alice');
    await eventually(async () => (await fresh.conversationService.getConversation('alice|1|bob').catch(() => null)) !== null);
    const conversation = await fresh.conversationService.getConversation('alice|1|bob');
    expect(conversation.unreadCount).toBe(0);
    expect(conversation.lastReadTime).toBeGreaterThan(0);
  });

  it('a message sent offline arrives once', async () => {
    cluster = await startCluster();
    const alice = await cluster.device('alice');
    const bob = await cluster.device('bob');
    const received = record<[Message[]]>((l) => bob.messageService.on('onReceiveMessages', l));
    alice.disconnect();
    const message = await alice.messageService.sendMessage('alice|1|bob', { text: 'sent offline' });
    expect(message.sendingState).toBe('sending');
    expect((await alice.conversationService.getConversation('alice|1|bob')).lastMessage?.text).toBe('sent offline');
    alice.connect();
    await eventually(async () => (await bob.conversationService.getConversation('bob|1|alice').catch(() => null))?.unreadCount === 1);
    await eventually(() => received.length === 1);
    alice.disconnect();
    alice.connect();
    await synced(alice);
    const history = await bob.messageService.getMessageList('bob|1|alice', { limit: 10 });
    expect(history.map((m) => m.text)).toEqual(['sent offline']);
    expect(received.flatMap(([list]) => list.map((m) => m.text))).toEqual(['sent offline']);
    await eventually(async () => (await alice.conversationService.getConversation('alice|1|bob')).lastMessage?.messageRefer.messageServerId !== '');
  });

  it('messages sent while the server restarts are delivered once each, in order', async () => {
    cluster = await startCluster({ file: true });
    const alice = await cluster.device('alice');
    const sent: Message[] = [];
    alice.messageService.on('onSendMessage', (m) => sent.push(m));
    await alice.messageService.sendMessage('alice|1|bob', { text: 'before' });
    await eventually(() => sent.length === 1);
    const restart = cluster.restartServer();
    for (let i = 0; i < 3; i++) await alice.messageService.sendMessage('alice|1|bob', { text: `during ${i}` });
    await restart;
    await eventually(() => sent.filter((m) => m.sendingState === 'succeeded').length === 4, 20_000);
    await synced(alice, 20_000);
    const history = await alice.messageService.getMessageList('alice|1|bob', { limit: 10 });
    expect(history.map((m) => m.text)).toEqual(['during 2', 'during 1', 'during 0', 'before']);
    expect(sent.map((m) => m.sendingState)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('the 101st pin fails with 110303, and the other device holds the 100 pins', async () => {
    cluster = await startCluster();
    const a = await cluster.device('alice');
    const b = await cluster.device('alice');
    for (let i = 0; i <= 100; i++) await a.conversationService.createConversation(`alice|1|p${i}`);
    for (let i = 0; i < 100; i++) await a.conversationService.stickTopConversation(`alice|1|p${i}`, true);
    const refused = await a.conversationService.stickTopConversation('alice|1|p100', true).then(() => 0, (e: { code: number }) => e.code);
    expect(refused).toBe(110303);
    await eventually(async () => (await b.conversationService.getStickTopConversationList()).length === 100, 20_000);
    expect((await b.conversationService.getConversation('alice|1|p100')).stickTop).toBe(false);
  });

  it('a page cursor never repeats or skips, while new conversations arrive during paging', async () => {
    cluster = await startCluster();
    const server = cluster.server;
    for (let i = 0; i < 120; i++) await server.sendMessage({ from: `u${i}`, conversationType: 1, targetId: 'alice', text: `m${i}` });
    const b = await cluster.device('alice');
    await eventually(() => b.conversationService.getTotalUnreadCount() === 120);
    const seen: string[] = [];
    let offset = 0;
    for (let page = 0; ; page++) {
      const result = await b.conversationService.getConversationList(offset, 25);
      seen.push(...result.conversationList.map((c) => c.conversationId));
      if (result.finished) break;
      offset = result.offset;
      // A newcomer lands at the top, before the cursor.
      await server.sendMessage({ from: `new${page}`, conversationType: 1, targetId: 'alice', text: 'late' });
      await eventually(async () => (await b.conversationService.getConversation(`alice|1|new${page}`).catch(() => null)) !== null);
    }
    const original = seen.filter((id) => !id.includes('|new'));
    expect(original).toHaveLength(120);
    expect(new Set(original).size).toBe(120);
    expect(original).toEqual(Array.from({ length: 120 }, (_, i) => `alice|1|u${119 - i}`));
  });

  describe.each<StorageKind>(['memory', 'dexie'])('core subset over %s storage', (storage) => {
    it('syncs, edits, survives a reopen and keeps unread right', async () => {
      cluster = await startCluster();
      const databaseName = `subset-${storage}-${Date.now()}`;
      const a = await cluster.device('alice', { storage, databaseName });
      const b = await cluster.device('alice');
      await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hi' });
      await eventually(() => a.conversationService.getTotalUnreadCount() === 1);
      await a.conversationService.stickTopConversation('alice|1|bob', true);
      await a.conversationService.createConversation('alice|1|eve');
      await eventually(async () => (await b.conversationService.getConversation('alice|1|bob').catch(() => null))?.stickTop === true);
      await b.conversationService.markConversationRead('alice|1|bob');
      await eventually(() => a.conversationService.getTotalUnreadCount() === 0);
      const page = await a.conversationService.getConversationList(0, 10);
      expect(page.conversationList.map((c) => c.conversationId)).toEqual(['alice|1|bob', 'alice|1|eve']);
      await a.close();
      const again = await cluster.device('alice', { storage, databaseName, synced: false });
      expect(again.conversationService.getTotalUnreadCount()).toBe(0);
      expect((await again.conversationService.getConversationList(0, 10)).conversationList).toHaveLength(2);
    });
  });
});
