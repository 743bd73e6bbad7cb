import { ClientEvent, formatStamp, jsonEqual, type ConversationDoc, type ConversationGroupDoc, type StreamEvent } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, byId, localDoc, waitFor, type Client } from './helpers.js';

const stamp = (wallMs: number, deviceId = 'd1', counter = 0) => formatStamp({ wallMs, counter, deviceId });

function row(doc: ConversationDoc) {
  return { newDocumentState: doc };
}

async function pushConversations(client: Client, docs: ConversationDoc[]) {
  return client.ok<{ conflicts: ConversationDoc[] }>(ClientEvent.PUSH, { collection: 'conversations', rows: docs.map((d) => row(d)) });
}

const withoutRev = (doc: ConversationDoc | undefined) => (doc === undefined ? undefined : { ...doc, serverRev: 0 });

describe('push and pull', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('a push creates the conversation with server-derived fields and answers the merged master', async () => {
    const server = await h.server({ now: () => 5_000 });
    const alice = await h.client(server, 'alice');
    const pushed = localDoc('alice|1|bob', { stickTop: true, clock: { ...localDoc('alice|1|bob').clock, stickTop: stamp(4_000) } });
    const { conflicts } = await pushConversations(alice, [pushed]);
    expect(conflicts).toHaveLength(1);
    const master = conflicts[0] as ConversationDoc;
    expect(master).toMatchObject({ conversationId: 'alice|1|bob', stickTop: true, serverRev: 1, createTime: 5_000, sortOrder: 5_000 });
    const { documents, seq } = await alice.pullAll();
    expect(documents).toEqual([master]);
    expect(seq).toBe(1);
  });

  it('ignores the server-derived block a device pushes (unread, last message, name, sort order)', async () => {
    const server = await h.server({ now: () => 5_000 });
    const alice = await h.client(server, 'alice');
    const forged = localDoc('alice|1|bob', {
      unreadCount: 99,
      name: 'Forged',
      sortOrder: 9e12,
      serverRev: 1e9,
      lastMessage: {
        messageRefer: { senderId: 'bob', receiverId: 'alice', messageClientId: 'x', messageServerId: 'x', conversationType: 1, conversationId: 'alice|1|bob', createTime: 9e12 },
        lastMessageState: 0,
        messageType: 0,
        text: 'forged',
        senderName: '',
      },
    });
    await pushConversations(alice, [forged]);
    const [doc] = (await alice.pullAll()).documents;
    expect(doc).toMatchObject({ unreadCount: 0, name: '', lastMessage: null, sortOrder: 5_000, serverRev: 1 });
  });

  it('refuses a whole push that touches another account\'s conversation, writing nothing', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const answer = await alice.request(ClientEvent.PUSH, {
      collection: 'conversations',
      rows: [row(localDoc('alice|1|carol')), row(localDoc('bob|1|alice'))],
    });
    expect(answer).toMatchObject({ ok: false, error: { code: 403 } });
    expect((await alice.pullAll()).documents).toEqual([]);
    const bob = await h.client(server, 'bob');
    expect((await bob.pullAll()).documents).toEqual([]);
  });

  it('pushes replayed twice or out of order give the same state as once', async () => {
    const base = localDoc('alice|1|bob');
    const edits = [
      { ...base, stickTop: true, clock: { ...base.clock, stickTop: stamp(100) } },
      { ...base, mute: true, clock: { ...base.clock, mute: stamp(200, 'd2') } },
      { ...base, serverExtension: 'x', clock: { ...base.clock, serverExtension: stamp(300) } },
      { ...base, stickTop: false, clock: { ...base.clock, stickTop: stamp(400, 'd2') } },
      { ...base, lastReadTime: 50 },
    ];
    const finalStates: (ConversationDoc | undefined)[] = [];
    for (const order of [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3, 3, 1, 0, 2, 4]]) {
      const server = await h.server({ now: () => 1_000 });
      const alice = await h.client(server, 'alice');
      for (const i of order) await pushConversations(alice, [edits[i] as ConversationDoc]);
      const { documents, seq } = await alice.pullAll();
      // A replay writes nothing: the log does not move.
      for (const i of order) await pushConversations(alice, [edits[i] as ConversationDoc]);
      expect((await alice.pullAll('conversations', seq)).documents).toEqual([]);
      finalStates.push(withoutRev(documents[0]));
    }
    expect(finalStates[0]).toMatchObject({ stickTop: false, mute: true, serverExtension: 'x', lastReadTime: 50 });
    expect(finalStates[1]).toEqual(finalStates[0]);
    expect(finalStates[2]).toEqual(finalStates[0]);
  });

  it('a batch answers conflicts only for rows whose result differs from what the device sent', async () => {
    const server = await h.server({ now: () => 1_000 });
    const alice = await h.client(server, 'alice');
    const { conflicts } = await pushConversations(alice, [localDoc('alice|1|bob')]);
    const master = conflicts[0] as ConversationDoc;
    const again = await alice.ok<{ conflicts: ConversationDoc[] }>(ClientEvent.PUSH, {
      collection: 'conversations',
      rows: [row(master)],
    });
    expect(again.conflicts).toEqual([]);
  });

  it('pages stop at the batch size and under the frame budget, with hasMore', async () => {
    const server = await h.server({ maxFrameBytes: 3_000 });
    const alice = await h.client(server, 'alice');
    await pushConversations(alice, Array.from({ length: 12 }, (_, i) => localDoc(`alice|1|peer${i}`)));
    const first = await alice.ok<{ documents: ConversationDoc[]; checkpoint: { seq: number }; hasMore: boolean }>(ClientEvent.PULL, {
      collection: 'conversations', checkpoint: null, batchSize: 100,
    });
    expect(first.documents.length).toBeGreaterThan(0);
    expect(first.documents.length).toBeLessThan(12);
    expect(first.hasMore).toBe(true);
    expect(first.checkpoint.seq).toBe(first.documents.length);
    const small = await alice.ok<{ documents: ConversationDoc[]; hasMore: boolean }>(ClientEvent.PULL, {
      collection: 'conversations', checkpoint: { seq: 0 }, batchSize: 1,
    });
    expect(small.documents).toHaveLength(1);
    expect(small.hasMore).toBe(true);
    const all = await alice.pullAll('conversations', 0, 5);
    expect(all.documents.map((d) => d.serverRev)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const end = await alice.ok<{ documents: unknown[]; checkpoint: { seq: number }; hasMore: boolean }>(ClientEvent.PULL, {
      collection: 'conversations', checkpoint: { seq: 12 }, batchSize: 10,
    });
    expect(end).toMatchObject({ documents: [], checkpoint: { seq: 12 }, hasMore: false });
  });

  it('a json page carries the stored documents as UTF-8 bytes over a socket, page for page as the objects form', async () => {
    const server = await h.server({ maxFrameBytes: 3_000 });
    const alice = await h.client(server, 'alice');
    await pushConversations(alice, Array.from({ length: 12 }, (_, i) => localDoc(`alice|1|peer${i}`, { serverExtension: 'é'.repeat(i * 20) })));
    let seq = 0;
    let pages = 0;
    for (let more = true; more; pages++) {
      const request = { collection: 'conversations', checkpoint: { seq }, batchSize: 100 };
      const objects = await alice.ok<{ documents: ConversationDoc[]; checkpoint: { seq: number }; hasMore: boolean }>(ClientEvent.PULL, request);
      const packed = await alice.ok<{ documentsJson: unknown; checkpoint: { seq: number }; hasMore: boolean }>(ClientEvent.PULL, { ...request, format: 'json' });
      expect(packed).not.toHaveProperty('documents');
      // socket.io hands a Node client its binary attachments as Buffers.
      expect(Buffer.isBuffer(packed.documentsJson)).toBe(true);
      const bytes = packed.documentsJson as Buffer;
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(objects.documents);
      expect(packed.checkpoint).toEqual(objects.checkpoint);
      expect(packed.hasMore).toBe(objects.hasMore);
      seq = packed.checkpoint.seq;
      more = packed.hasMore;
    }
    expect(seq).toBe(12);
    expect(pages).toBeGreaterThan(2);
  });

  it('an in-process session gets a json page as a string', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    await pushConversations(alice, [localDoc('alice|1|bob'), localDoc('alice|1|carol')]);
    const endpoint = await server.connectInProcess(await server.issueToken('alice'));
    const packed = await endpoint.request(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 10, format: 'json' });
    expect(packed).toMatchObject({ ok: true, collection: 'conversations', checkpoint: { seq: 2 }, hasMore: false });
    const text = (packed as { documentsJson?: unknown }).documentsJson;
    expect(typeof text).toBe('string');
    const { documents } = await alice.pullAll();
    expect(JSON.parse(text as string)).toEqual(documents);
  });

  it('refuses a pull in a format it does not know', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const answer = await alice.request(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 10, format: 'xml' });
    expect(answer).toMatchObject({ ok: false, error: { code: 191004 } });
  });

  it('pull never skips or repeats a change while pushes and messages commit concurrently', async () => {
    const server = await h.server();
    const reader = await h.client(server, 'alice', { deviceId: 'reader' });
    const writer = await h.client(server, 'alice', { deviceId: 'writer' });
    const bob = await h.client(server, 'bob');
    const carol = await h.client(server, 'carol');
    let stop = false;
    const seen = new Map<string, ConversationDoc>();
    let checkpoint = 0;
    let lastRev = 0;
    const pulling = (async () => {
      while (!stop) {
        const page = await reader.ok<{ documents: ConversationDoc[]; checkpoint: { seq: number } }>(ClientEvent.PULL, {
          collection: 'conversations', checkpoint: { seq: checkpoint }, batchSize: 3,
        });
        for (const doc of page.documents) {
          // Strictly increasing positions: nothing is repeated, and nothing older shows up late.
          expect(doc.serverRev).toBeGreaterThan(lastRev);
          lastRev = doc.serverRev;
          seen.set(doc.conversationId, doc);
        }
        checkpoint = page.checkpoint.seq;
      }
    })();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const base = localDoc(`alice|1|p${i % 7}`);
      writes.push(pushConversations(writer, [{ ...base, serverExtension: `v${i}`, clock: { ...base.clock, serverExtension: stamp(1_000 + i, 'writer') } }]));
      writes.push(bob.send('bob|1|alice', `hi ${i}`));
      if (i % 3 === 0) writes.push(carol.send('carol|1|alice', `yo ${i}`));
    }
    await Promise.all(writes);
    const final = byId((await reader.pullAll()).documents);
    await waitFor(() => checkpoint >= Math.max(...[...final.values()].map((d) => d.serverRev)), 10_000, 'the reader to catch up');
    stop = true;
    await pulling;
    expect(seen).toEqual(final);
    expect(final.get('alice|1|bob')?.unreadCount).toBe(30);
    expect(final.get('alice|1|carol')?.unreadCount).toBe(10);
  });

  it('a checkpoint resumes after a reconnect with exactly what changed meanwhile', async () => {
    const server = await h.server();
    const first = await h.client(server, 'alice');
    await pushConversations(first, [localDoc('alice|1|a'), localDoc('alice|1|b')]);
    const { seq } = await first.pullAll();
    first.socket.disconnect();
    const bob = await h.client(server, 'bob');
    await bob.send('bob|1|alice', 'while you were away');
    const base = localDoc('alice|1|a');
    const other = await h.client(server, 'alice', { deviceId: 'other' });
    await pushConversations(other, [{ ...base, mute: true, clock: { ...base.clock, mute: stamp(5_000, 'other') } }]);
    const again = await h.client(server, 'alice');
    const { documents } = await again.pullAll('conversations', seq);
    expect(documents.map((d) => d.conversationId).sort()).toEqual(['alice|1|a', 'alice|1|bob']);
    expect(documents.find((d) => d.conversationId === 'alice|1|a')?.mute).toBe(true);
  });

  it('a deleted group leaves every conversation of the owner in the same commit', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const group: ConversationGroupDoc = {
      groupId: 'g1', name: 'Work', serverExtension: '', createTime: 1, updateTime: 1,
      clock: { name: stamp(10), serverExtension: '', deleted: '' }, _deleted: false,
    };
    await alice.ok(ClientEvent.PUSH, { collection: 'conversationGroups', rows: [{ newDocumentState: group }] });
    const base = localDoc('alice|1|bob');
    await pushConversations(alice, [{ ...base, groups: [{ groupId: 'g1', member: true, stamp: stamp(20) }] }]);
    expect((await alice.pullAll()).documents[0]?.groupIds).toEqual(['g1']);
    const { seq } = await alice.pullAll();
    const deleted = { ...group, clock: { ...group.clock, deleted: stamp(30) }, _deleted: true };
    const answer = await alice.ok<{ conflicts: ConversationGroupDoc[] }>(ClientEvent.PUSH, {
      collection: 'conversationGroups', rows: [{ newDocumentState: deleted }],
    });
    expect(answer.conflicts).toEqual([]);
    const groups = await alice.pullAll<ConversationGroupDoc>('conversationGroups');
    expect(groups.documents).toEqual([deleted]);
    const changed = await alice.pullAll('conversations', seq);
    expect(changed.documents).toHaveLength(1);
    expect(changed.documents[0]?.groupIds).toEqual([]);
    expect(changed.documents[0]?.groups).toEqual([{ groupId: 'g1', member: false, stamp: stamp(30) }]);
  });
  it('a conversation pushed into an already deleted group leaves it', async () => {
    const server = await h.server();
    const alice = await h.client(server, 'alice');
    const group: ConversationGroupDoc = {
      groupId: 'g1', name: 'Old', serverExtension: '', createTime: 1, updateTime: 1,
      clock: { name: stamp(10), serverExtension: '', deleted: stamp(30) }, _deleted: true,
    };
    await alice.ok(ClientEvent.PUSH, { collection: 'conversationGroups', rows: [{ newDocumentState: group }] });
    // Added offline at 20, before the deletion at 30 reached that device.
    const base = localDoc('alice|1|bob');
    const { conflicts } = await pushConversations(alice, [{ ...base, groups: [{ groupId: 'g1', member: true, stamp: stamp(20) }], groupIds: ['g1'] }]);
    expect(conflicts[0]?.groupIds).toEqual([]);
    expect((await alice.pullAll()).documents[0]?.groupIds).toEqual([]);
  });
});

describe('stream', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('reaches every socket of the account and none of another, with prevSeq chaining', async () => {
    const server = await h.server();
    const phone = await h.client(server, 'alice', { deviceId: 'phone' });
    const laptop = await h.client(server, 'alice', { deviceId: 'laptop' });
    const bob = await h.client(server, 'bob');
    await pushConversations(phone, [localDoc('alice|1|x')]);
    await pushConversations(laptop, [localDoc('alice|1|y'), localDoc('alice|1|z')]);
    await pushConversations(bob, [localDoc('bob|1|w')]);
    await waitFor(() => phone.streams.length === 2 && laptop.streams.length === 2 && bob.streams.length === 1, 5000, 'stream events');
    for (const client of [phone, laptop]) {
      const [first, second] = client.streams as [StreamEvent, StreamEvent];
      expect(first).toMatchObject({ collection: 'conversations', prevSeq: 0, checkpoint: { seq: 1 } });
      expect(second).toMatchObject({ collection: 'conversations', prevSeq: 1, checkpoint: { seq: 3 } });
      expect(second.documents.map((d) => (d as ConversationDoc).conversationId)).toEqual(['alice|1|y', 'alice|1|z']);
    }
    expect(bob.streams.flatMap((e) => e.documents.map((d) => (d as ConversationDoc).conversationId))).toEqual(['bob|1|w']);
    // The stream carries exactly what a pull returns.
    const pulled = (await phone.pullAll()).documents;
    expect(jsonEqual(phone.streams.flatMap((e): unknown[] => e.documents), pulled)).toBe(true);
  });

  it('a message streams one event to each member and only to members', async () => {
    const server = await h.server();
    await server.createTeam({ teamId: 't1', name: 'Team', memberIds: ['alice', 'bob'] });
    const alice = await h.client(server, 'alice');
    const bob = await h.client(server, 'bob');
    const carol = await h.client(server, 'carol');
    await alice.send('alice|2|t1', 'hello team');
    await carol.send('carol|1|dave', 'unrelated');
    await waitFor(() => alice.streams.length === 1 && bob.streams.length === 1 && carol.streams.length === 1, 5000, 'streams');
    expect((carol.streams[0]?.documents[0] as ConversationDoc).conversationId).toBe('carol|1|dave');
    expect((bob.streams[0]?.documents[0] as ConversationDoc).conversationId).toBe('bob|2|t1');
  });
});
