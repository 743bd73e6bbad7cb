/**
 * docs/API.md "conversationService" row by row over socket.io: a call on one device of alice, its effect and its event on
 * her other device.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type ConvSyncError } from '@convsync/protocol';
import { codeOf, eventually } from './services.helpers.js';
import { record, startCluster, type Cluster, type Engine } from './integration.helpers.js';
import type { Conversation, ConversationFilter } from '../src/services/index.js';

let cluster: Cluster;
let a: Engine;
let b: Engine;

beforeEach(async () => {
  cluster = await startCluster();
  a = await cluster.device('alice');
  b = await cluster.device('alice');
});
afterEach(async () => {
  await cluster.close();
});

async function onB(conversationId: string, check: (c: Conversation) => boolean): Promise<void> {
  await eventually(async () => {
    const found = await b.conversationService.getConversation(conversationId).catch(() => null);
    return found !== null && check(found);
  });
}

describe('conversationService across two devices of one account', () => {
  it('onSyncStarted / onSyncFinished fire on reconnect; onSyncFailed carries 302 for a refused token', async () => {
    const started = record<[]>((l) => a.conversationService.on('onSyncStarted', l));
    const finished = record<[]>((l) => a.conversationService.on('onSyncFinished', l));
    a.disconnect();
    await eventually(() => latest(a) === 'offline');
    a.connect();
    await eventually(() => started.length >= 1 && finished.length >= 1);
    const { createConversationEngine } = await import('../src/index.js');
    const good = await cluster.server.issueToken('alice');
    const tampered = `${good.slice(0, -4)}${good.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const bad = await createConversationEngine({ url: cluster.server.url, token: tampered, storage: 'memory', databaseName: `bad-${Date.now()}` });
    try {
      const failed = record<[ConvSyncError]>((l) => bad.conversationService.on('onSyncFailed', l));
      await eventually(() => failed.length >= 1);
      expect(failed[0]?.[0].code).toBe(ErrorCode.AUTH_FAILED);
      expect(latest(bad)).toBe('error');
      // Every call keeps working on the replica.
      expect((await bad.conversationService.createConversation('alice|1|bob')).conversationId).toBe('alice|1|bob');
    } finally {
      await bad.close();
    }
  });

  it('createConversation: the other device gets onConversationCreated', async () => {
    const created = record<[Conversation]>((l) => b.conversationService.on('onConversationCreated', l));
    await a.conversationService.createConversation('alice|1|bob');
    await eventually(() => created.some(([c]) => c.conversationId === 'alice|1|bob'));
    expect((await b.conversationService.getConversationList(0, 10)).conversationList.map((c) => c.conversationId)).toEqual(['alice|1|bob']);
  });

  it('a message creates the conversation with its last message and unread on both devices', async () => {
    const created = record<[Conversation]>((l) => b.conversationService.on('onConversationCreated', l));
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hello alice' });
    await onB('alice|1|bob', (c) => c.unreadCount === 1 && c.lastMessage?.text === 'hello alice');
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null))?.unreadCount === 1);
    expect(created.map(([c]) => c.conversationId)).toEqual(['alice|1|bob']);
    expect(a.conversationService.getTotalUnreadCount()).toBe(1);
    expect(await a.conversationService.getUnreadCountByIds(['alice|1|bob'])).toBe(1);
    expect((await a.conversationService.getConversationListByIds(['alice|1|bob']))[0]?.name).toBe('');
  });

  it('updateConversation: the server extension reaches the other device with onConversationChanged', async () => {
    await a.conversationService.createConversation('alice|1|bob');
    await onB('alice|1|bob', () => true);
    const changed = record<[Conversation[]]>((l) => b.conversationService.on('onConversationChanged', l));
    await a.conversationService.updateConversation('alice|1|bob', { serverExtension: '{"color":"red"}' });
    await eventually(() => changed.some(([list]) => list.some((c) => c.serverExtension === '{"color":"red"}')));
  });

  it('the later server extension wins on both devices', async () => {
    await a.conversationService.createConversation('alice|1|bob');
    await onB('alice|1|bob', () => true);
    a.disconnect();
    b.disconnect();
    await a.conversationService.updateConversation('alice|1|bob', { serverExtension: 'first' });
    const t = Date.now();
    await eventually(() => Date.now() > t + 2);
    await b.conversationService.updateConversation('alice|1|bob', { serverExtension: 'second' });
    b.connect();
    a.connect();
    await onB('alice|1|bob', (c) => c.serverExtension === 'second');
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob')).serverExtension === 'second');
  });

  it('updateConversationLocalExtension: the local extension never leaves its device', async () => {
    await a.conversationService.createConversation('alice|1|bob');
    await onB('alice|1|bob', () => true);
    await a.conversationService.updateConversationLocalExtension('alice|1|bob', 'draft');
    await a.conversationService.updateConversation('alice|1|bob', { serverExtension: 'after' });
    await onB('alice|1|bob', (c) => c.serverExtension === 'after');
    expect((await b.conversationService.getConversation('alice|1|bob')).localExtension).toBe('');
    expect((await a.conversationService.getConversation('alice|1|bob')).localExtension).toBe('draft');
  });

  it('stickTopConversation and muteConversation reach the other device; pinned lists agree', async () => {
    await a.conversationService.createConversation('alice|1|bob');
    await a.conversationService.createConversation('alice|1|eve');
    await onB('alice|1|eve', () => true);
    const changed = record<[Conversation[]]>((l) => b.conversationService.on('onConversationChanged', l));
    await a.conversationService.stickTopConversation('alice|1|bob', true);
    await a.conversationService.muteConversation('alice|1|eve', true);
    await onB('alice|1|bob', (c) => c.stickTop);
    await onB('alice|1|eve', (c) => c.mute);
    expect(changed.length).toBeGreaterThan(0);
    expect((await b.conversationService.getStickTopConversationList()).map((c) => c.conversationId)).toEqual(['alice|1|bob']);
    expect((await b.conversationService.getConversationList(0, 10)).conversationList[0]?.conversationId).toBe('alice|1|bob');
  });

  it('markConversationRead: the other device gets onConversationReadTimeUpdated and unread 0', async () => {
    const message = await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'one' });
    await onB('alice|1|bob', (c) => c.unreadCount === 1);
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null))?.unreadCount === 1);
    const readTimes = record<[string, number]>((l) => b.conversationService.on('onConversationReadTimeUpdated', l));
    const totals = record<[number]>((l) => b.conversationService.on('onTotalUnreadCountChanged', l));
    const readTime = await a.conversationService.markConversationRead('alice|1|bob');
    expect(readTime).toBe(message.createTime);
    expect(a.conversationService.getTotalUnreadCount()).toBe(0);
    await eventually(() => readTimes.some(([id, time]) => id === 'alice|1|bob' && time === message.createTime));
    await eventually(() => totals.some(([count]) => count === 0));
    expect(await b.conversationService.getConversationReadTime('alice|1|bob')).toBe(message.createTime);
  });

  it('an offline read of older messages does not clear a newer message', async () => {
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'old' });
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null))?.unreadCount === 1);
    a.disconnect();
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'new' });
    await a.conversationService.markConversationRead('alice|1|bob');
    expect(a.conversationService.getTotalUnreadCount()).toBe(0);
    a.connect();
    await eventually(async () => {
      const c = await a.conversationService.getConversation('alice|1|bob');
      return c.unreadCount === 1 && c.lastMessage?.text === 'new';
    });
    await onB('alice|1|bob', (c) => c.unreadCount === 1 && c.lastReadTime > 0);
  });

  it('deleteConversation: the other device gets onConversationDeleted; a new message brings it back with only that message unread', async () => {
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'one' });
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'two' });
    await onB('alice|1|bob', (c) => c.unreadCount === 2);
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null))?.unreadCount === 2);
    const deleted = record<[string[]]>((l) => b.conversationService.on('onConversationDeleted', l));
    const created = record<[Conversation]>((l) => b.conversationService.on('onConversationCreated', l));
    await a.conversationService.deleteConversation('alice|1|bob');
    expect(a.conversationService.getTotalUnreadCount()).toBe(0);
    await eventually(() => deleted.some(([ids]) => ids.includes('alice|1|bob')));
    expect(b.conversationService.getTotalUnreadCount()).toBe(0);
    expect(await codeOf(b.conversationService.getConversation('alice|1|bob'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'three' });
    await onB('alice|1|bob', (c) => c.unreadCount === 1 && c.lastMessage?.text === 'three');
    await eventually(() => created.length === 1);
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null))?.unreadCount === 1);
  });

  it('deleteConversation with clearMessage clears the history for every device of the account', async () => {
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'secret' });
    await onB('alice|1|bob', (c) => c.unreadCount === 1);
    await eventually(async () => (await a.conversationService.getConversation('alice|1|bob').catch(() => null)) !== null);
    expect((await b.messageService.getMessageList('alice|1|bob', { limit: 10 })).map((m) => m.text)).toEqual(['secret']);
    await a.conversationService.deleteConversation('alice|1|bob', true);
    await eventually(async () => (await b.conversationService.getConversation('alice|1|bob').catch(() => null)) === null);
    expect(await b.messageService.getMessageList('alice|1|bob', { limit: 10 })).toEqual([]);
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'after' });
    await onB('alice|1|bob', (c) => c.unreadCount === 1);
    expect((await b.messageService.getMessageList('alice|1|bob', { limit: 10 })).map((m) => m.text)).toEqual(['after']);
  });

  it('deleteConversationListByIds removes the batch on the other device', async () => {
    for (const peer of ['p1', 'p2', 'p3']) await a.conversationService.createConversation(`alice|1|${peer}`);
    await onB('alice|1|p3', () => true);
    const deleted = record<[string[]]>((l) => b.conversationService.on('onConversationDeleted', l));
    const failed = await a.conversationService.deleteConversationListByIds(['alice|1|p1', 'alice|1|p2', 'alice|1|none']);
    expect(failed.map((f) => f.conversationId)).toEqual(['alice|1|none']);
    await eventually(() => deleted.flatMap(([ids]) => ids).length === 2);
    expect((await b.conversationService.getConversationList(0, 10)).conversationList.map((c) => c.conversationId)).toEqual(['alice|1|p3']);
  });

  it('subscribeUnreadCountByFilter / getUnreadCountByFilter / clear calls follow changes made on the other device', async () => {
    await cluster.server.createTeam({ teamId: 'team1', name: 'Team', memberIds: ['alice', 'bob'] });
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'p2p' });
    await cluster.server.sendMessage({ from: 'bob', conversationType: 2, targetId: 'team1', text: 'team' });
    await cluster.server.sendMessage({ from: 'bob', conversationType: 2, targetId: 'team1', text: 'team again' });
    await eventually(() => b.conversationService.getTotalUnreadCount() === 3 && a.conversationService.getTotalUnreadCount() === 3);
    const filter: ConversationFilter = { conversationTypes: [2] };
    const counts = record<[ConversationFilter, number]>((l) => b.conversationService.on('onUnreadCountChangedByFilter', l));
    b.conversationService.subscribeUnreadCountByFilter(filter);
    expect(await b.conversationService.getUnreadCountByFilter(filter)).toBe(2);
    await a.conversationService.clearUnreadCountByTypes([2]);
    await eventually(() => counts.some(([f, n]) => f.conversationTypes?.[0] === 2 && n === 0));
    expect(b.conversationService.getTotalUnreadCount()).toBe(1);
    b.conversationService.unsubscribeUnreadCountByFilter(filter);
    await a.conversationService.clearUnreadCountByIds(['alice|1|bob']);
    await eventually(() => b.conversationService.getTotalUnreadCount() === 0);
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'more' });
    await eventually(() => b.conversationService.getTotalUnreadCount() === 1);
    await a.conversationService.clearTotalUnreadCount();
    await eventually(() => b.conversationService.getTotalUnreadCount() === 0);
    expect(counts.filter(([, n]) => n === 0)).toHaveLength(1);
  });

  it('a second account sees the message but none of alice\'s edits', async () => {
    const bob = await cluster.device('bob');
    const sent = await bob.messageService.sendMessage('bob|1|alice', { text: 'hi alice' });
    expect(sent.sendingState).toBe('sending');
    await onB('alice|1|bob', (c) => c.unreadCount === 1 && c.lastMessage?.text === 'hi alice');
    await eventually(async () => (await bob.conversationService.getConversation('bob|1|alice').catch(() => null))?.lastMessage?.text === 'hi alice');
    await a.conversationService.stickTopConversation('alice|1|bob', true);
    await a.conversationService.updateConversation('alice|1|bob', { serverExtension: 'alice only' });
    await a.conversationService.markConversationRead('alice|1|bob');
    await onB('alice|1|bob', (c) => c.stickTop && c.serverExtension === 'alice only' && c.unreadCount === 0);
    const bobs = await bob.conversationService.getConversation('bob|1|alice');
    expect(bobs).toMatchObject({ stickTop: false, serverExtension: '', unreadCount: 0 });
    expect(bob.conversationService.getTotalUnreadCount()).toBe(0);
    expect(await codeOf(bob.conversationService.getConversation('alice|1|bob'))).toBe(ErrorCode.INVALID_PARAMETER);
  });

  it('getConversationListByOption and conversationList$ agree on both devices', async () => {
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'x' });
    await a.conversationService.createConversation('alice|1|eve');
    await onB('alice|1|eve', () => true);
    await onB('alice|1|bob', (c) => c.unreadCount === 1);
    const unreadOnly = await b.conversationService.getConversationListByOption(0, 10, { onlyUnread: true });
    expect(unreadOnly.conversationList.map((c) => c.conversationId)).toEqual(['alice|1|bob']);
    const lists: string[][] = [];
    const subscription = b.conversationService.conversationList$({ onlyUnread: true }).subscribe((list) => lists.push(list.map((c) => c.conversationId)));
    await a.conversationService.markConversationRead('alice|1|bob');
    await eventually(() => lists[lists.length - 1]?.length === 0);
    subscription.unsubscribe();
    expect(lists[0]).toEqual(['alice|1|bob']);
  });
});

function latest(engine: Engine): string | undefined {
  let value: string | undefined;
  engine.syncState$.subscribe((s) => (value = s)).unsubscribe();
  return value;
}
