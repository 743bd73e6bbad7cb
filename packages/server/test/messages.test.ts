import { ClientEvent, ConversationType, formatStamp, type ConversationDoc, type Message } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, byId, localDoc, type Client } from './helpers.js';

const stamp = (wallMs: number, deviceId = 'd1') => formatStamp({ wallMs, counter: 0, deviceId });

async function conversation(client: Client, id: string): Promise<ConversationDoc | undefined> {
  return byId((await client.pullAll()).documents).get(id);
}

async function pushDoc(client: Client, doc: ConversationDoc): Promise<void> {
  await client.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: doc }] });
}

describe('messages', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('a P2P message reaches both sides: last message from each view, unread only for the receiver', async () => {
    const server = await h.server();
    await server.upsertUser({ accountId: 'bob', name: 'Bob', avatar: 'bob.png' });
    await server.upsertUser({ accountId: 'alice', name: 'Alice' });
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const { message } = await alice.send('alice|1|bob', 'hello bob', 'c1');
    expect(message).toMatchObject({ conversationId: 'alice|1|bob', senderId: 'alice', receiverId: 'bob', senderName: 'Alice', sendingState: 'succeeded' });
    const mine = await conversation(alice, 'alice|1|bob');
    const theirs = await conversation(bob, 'bob|1|alice');
    expect(mine).toMatchObject({ unreadCount: 0, name: 'Bob', avatar: 'bob.png', _deleted: false });
    expect(theirs).toMatchObject({ unreadCount: 1, name: 'Alice', _deleted: false });
    expect(mine?.lastMessage?.messageRefer.conversationId).toBe('alice|1|bob');
    expect(theirs?.lastMessage?.messageRefer).toMatchObject({ conversationId: 'bob|1|alice', messageClientId: 'c1', createTime: message.createTime });
    expect(theirs?.lastMessage?.text).toBe('hello bob');
    await bob.send('bob|1|alice', 'hi alice');
    expect((await conversation(alice, 'alice|1|bob'))?.unreadCount).toBe(1);
    expect((await conversation(bob, 'bob|1|alice'))?.unreadCount).toBe(1);
  });

  it('a team message fans out to every member, unread for all but the sender', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Friends', memberIds: ['alice', 'bob', 'carol'] });
    await server.createTeam({ teamId: 's1', name: 'Big', memberIds: ['alice', 'bob'], superTeam: true });
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const carol = await h.client(server, 'carol');
    expect((await bob.pullAll()).documents).toEqual([]); // members get no conversation until a message
    await alice.send('alice|2|t1', 'one');
    await bob.send('bob|2|t1', 'two');
    await server.sendMessage({ from: 'carol', conversationType: ConversationType.TEAM, targetId: 't1', text: 'three' });
    expect((await conversation(alice, 'alice|2|t1'))).toMatchObject({ unreadCount: 2, name: 'Friends' });
    expect((await conversation(bob, 'bob|2|t1'))?.unreadCount).toBe(2);
    expect((await conversation(carol, 'carol|2|t1'))?.unreadCount).toBe(2);
    expect((await conversation(carol, 'carol|2|t1'))?.lastMessage?.text).toBe('three');
    await alice.send('alice|3|s1', 'super');
    expect((await conversation(bob, 'bob|3|s1'))).toMatchObject({ unreadCount: 1, name: 'Big', type: 3 });
    expect(await conversation(carol, 'carol|3|s1')).toBeUndefined();
  });

  it('refuses a sender outside the team (403), an unknown team (404) and another account\'s view (403)', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Team', memberIds: ['alice'] });
    const mallory = await h.client(server, 'mallory');
    expect(await mallory.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'x', conversationId: 'mallory|2|t1', text: 'hi' }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    expect(await mallory.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'y', conversationId: 'mallory|2|nope', text: 'hi' }))
      .toMatchObject({ ok: false, error: { code: 404 } });
    expect(await mallory.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'z', conversationId: 'mallory|3|t1', text: 'hi' }))
      .toMatchObject({ ok: false, error: { code: 404 } });
    expect(await mallory.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'w', conversationId: 'alice|1|mallory', text: 'spoof' }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    const alice = await h.client(server, 'alice');
    expect((await alice.pullAll()).documents).toEqual([]);
    expect((await mallory.pullAll()).documents).toEqual([]);
  });

  it('a duplicate clientMessageId is stored once and answers the stored message', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const first = await alice.send('alice|1|bob', 'once', 'same-id');
    const { seq } = await bob.pullAll();
    const second = await alice.send('alice|1|bob', 'once', 'same-id');
    expect(second.message).toEqual(first.message);
    expect((await bob.pullAll('conversations', seq)).documents).toEqual([]);
    expect((await conversation(bob, 'bob|1|alice'))?.unreadCount).toBe(1);
    const list = await bob.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|alice', limit: 10 });
    expect(list.messages).toHaveLength(1);
  });

  it('createTime is strictly increasing within a conversation even when the clock stands still or goes back', async () => {
    let clock = 10_000;
    const server = await h.server({ now: () => clock });
    const alice = await h.client(server, 'alice');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i === 3) clock = 5_000;
      times.push((await alice.send('alice|1|bob', `m${i}`)).message.createTime);
    }
    expect(times).toEqual([10_000, 10_001, 10_002, 10_003, 10_004]);
    const list = await alice.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|1|bob', limit: 100 });
    expect(list.messages.map((m) => m.createTime)).toEqual([...times].reverse());
  });

  it('a deleted conversation comes back with a newer message, with only that message unread', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    await alice.send('alice|1|bob', 'one');
    await alice.send('alice|1|bob', 'two');
    const before = await conversation(bob, 'bob|1|alice') as ConversationDoc;
    expect(before.unreadCount).toBe(2);
    const lastTime = before.lastMessage?.messageRefer.createTime ?? 0;
    await pushDoc(bob, { ...before, deletedBefore: lastTime, clock: { ...before.clock, deleted: stamp(Date.now()) } });
    const deleted = await conversation(bob, 'bob|1|alice');
    expect(deleted).toMatchObject({ _deleted: true, unreadCount: 0 });
    await alice.send('alice|1|bob', 'three');
    const revived = await conversation(bob, 'bob|1|alice');
    expect(revived).toMatchObject({ _deleted: false, unreadCount: 1 });
    expect(revived?.lastMessage?.text).toBe('three');
  });

  it('a read time moving forward recomputes unread from the message store: an offline read of older messages leaves newer ones unread', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const sent = [];
    for (const text of ['a', 'b', 'c', 'd']) sent.push((await alice.send('alice|1|bob', text)).message);
    await bob.send('bob|1|alice', 'own messages never count');
    const doc = await conversation(bob, 'bob|1|alice') as ConversationDoc;
    expect(doc.unreadCount).toBe(4);
    // Bob read up to "b" on a device that had not seen "c" and "d" yet.
    const staleView = { ...doc, lastReadTime: sent[1]?.createTime ?? 0, unreadCount: 0 };
    await pushDoc(bob, staleView);
    expect((await conversation(bob, 'bob|1|alice'))?.unreadCount).toBe(2);
    // Reading backwards never raises it again.
    await pushDoc(bob, { ...doc, lastReadTime: sent[0]?.createTime ?? 0 });
    expect((await conversation(bob, 'bob|1|alice'))?.unreadCount).toBe(2);
    await pushDoc(bob, { ...doc, lastReadTime: sent[3]?.createTime ?? 0 });
    expect((await conversation(bob, 'bob|1|alice'))?.unreadCount).toBe(0);
  });

  it('message:list pages newest first, honours cleared history and refuses conversations of others', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Team', memberIds: ['alice', 'bob'] });
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push((await alice.send('alice|1|bob', `m${i}`)).message.createTime);
    const page1 = await bob.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|alice', limit: 2 });
    expect(page1.messages.map((m) => m.text)).toEqual(['m4', 'm3']);
    expect(page1.messages[0]?.conversationId).toBe('bob|1|alice');
    const page2 = await bob.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, {
      conversationId: 'bob|1|alice', limit: 10, beforeTime: page1.messages[1]?.createTime,
    });
    expect(page2.messages.map((m) => m.text)).toEqual(['m2', 'm1', 'm0']);
    // Bob deletes with clearMessage: his history ends there; Alice's stays.
    const doc = await conversation(bob, 'bob|1|alice') as ConversationDoc;
    await pushDoc(bob, { ...doc, deletedBefore: times[2] ?? 0, clearedBefore: times[2] ?? 0, clock: { ...doc.clock, deleted: stamp(Date.now()) } });
    const cleared = await bob.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|alice', limit: 10 });
    expect(cleared.messages.map((m) => m.text)).toEqual(['m4', 'm3']);
    const alices = await alice.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|1|bob', limit: 10 });
    expect(alices.messages).toHaveLength(5);
    await alice.send('alice|2|t1', 'team secret');
    const carol = await h.client(server, 'carol');
    expect(await carol.request(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|1|bob', limit: 10 })).toMatchObject({ ok: false, error: { code: 403 } });
    expect(await carol.request(ClientEvent.MESSAGE_LIST, { conversationId: 'carol|2|t1', limit: 10 })).toMatchObject({ ok: false, error: { code: 403 } });
    // Carol's own P2P view of the pair exists only as her own chats: nothing of alice and bob's.
    const own = await carol.ok<{ messages: Message[] }>(ClientEvent.MESSAGE_LIST, { conversationId: 'carol|1|alice', limit: 10 });
    expect(own.messages).toEqual([]);
  });

  it('profile and team changes rename the conversations that show them, and stream them', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Old', memberIds: ['alice', 'bob'] });
    const alice = await h.client(server, 'alice');
    await alice.send('alice|1|bob', 'hi');
    await alice.send('alice|2|t1', 'hi team');
    const { seq } = await alice.pullAll();
    await server.upsertUser({ accountId: 'bob', name: 'Robert', avatar: 'r.png' });
    await server.createTeam({ teamId: 't1', name: 'New', memberIds: ['alice', 'bob'] });
    const changed = byId((await alice.pullAll('conversations', seq)).documents);
    expect(changed.get('alice|1|bob')).toMatchObject({ name: 'Robert', avatar: 'r.png' });
    expect(changed.get('alice|2|t1')).toMatchObject({ name: 'New' });
    expect(alice.streams.at(-1)?.documents).toHaveLength(1);
  });

  it('a pushed team conversation of a team the account is not in shows nothing of the team', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Secret', memberIds: ['alice', 'bob'] });
    await server.sendMessage({ from: 'alice', conversationType: ConversationType.TEAM, targetId: 't1', text: 'x' });
    const mallory = await h.client(server, 'mallory');
    const base = localDoc('mallory|2|t1');
    await pushDoc(mallory, base);
    expect(await conversation(mallory, 'mallory|2|t1')).toMatchObject({ name: '', unreadCount: 0, lastMessage: null });
  });
});
