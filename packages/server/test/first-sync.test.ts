/**
 * The first-sync page over a real socket (`sync:pull` with `order: 'rank'`): the top of the list
 * in list order, the log position and the unread totals of one snapshot, equal to what a full pull
 * of the log shows; malformed requests refused with 191004.
 */
import {
  ClientEvent,
  ErrorCode,
  formatStamp,
  unpackPullAnswer,
  unreadOfCells,
  type ConversationDoc,
  type UnreadTotals,
} from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, byId, localDoc, type Client } from './helpers.js';

const stamp = (wallMs: number) => formatStamp({ wallMs, counter: 0, deviceId: 'd1' });

interface Page {
  documents: ConversationDoc[];
  checkpoint: { seq: number };
  hasMore: boolean;
  unread: UnreadTotals;
}

function firstPage(client: Client, batchSize: number, extra: Record<string, unknown> = {}): Promise<Page> {
  return client.ok<Page>(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize, order: 'rank', ...extra });
}

/** The list as a full pull of the log shows it: visible documents by rank, then id. */
function listOf(docs: Iterable<ConversationDoc>): ConversationDoc[] {
  return [...docs].filter((doc) => !doc._deleted)
    .sort((a, b) => a.rank - b.rank || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0));
}

function unreadOf(docs: readonly ConversationDoc[], filter: { types?: number[]; group?: string; ignoreMuted?: boolean } = {}): number {
  return docs.filter((doc) => (filter.types === undefined || filter.types.includes(doc.type)) &&
    (filter.group === undefined || doc.groupIds.includes(filter.group)) && !(filter.ignoreMuted === true && doc.mute))
    .reduce((sum, doc) => sum + doc.unreadCount, 0);
}

/** alice: twelve P2P conversations (two pinned, one muted, some in groups, one deleted), unread from peers. */
async function populate(harness: Harness): Promise<Client> {
  const server = await harness.server();
  const alice = await harness.client(server, 'alice');
  const peers = Array.from({ length: 12 }, (_, i) => `peer${i.toString().padStart(2, '0')}`);
  const base = localDoc('alice|1|x').clock;
  await alice.ok(ClientEvent.PUSH, {
    collection: 'conversations',
    rows: peers.map((peer, i) => ({
      newDocumentState: localDoc(`alice|1|${peer}`, {
        stickTop: i === 3 || i === 7,
        mute: i === 5,
        groups: i % 3 === 0 ? [{ groupId: i % 2 === 0 ? 'work' : 'home', member: true, stamp: stamp(10 + i) }] : [],
        clock: { ...base, stickTop: stamp(10 + i), mute: stamp(10 + i) },
      }),
    })),
  });
  for (const [i, peer] of peers.entries()) {
    if (i % 2 === 1) continue;
    const sender = await harness.client(server, peer);
    for (let n = 0; n < 1 + (i % 4); n++) await sender.send(`${peer}|1|alice`, `m${n}`);
  }
  const current = byId((await alice.pullAll()).documents);
  const doomed = current.get('alice|1|peer01') as ConversationDoc;
  await alice.ok(ClientEvent.PUSH, {
    collection: 'conversations',
    rows: [{ newDocumentState: { ...doomed, clock: { ...doomed.clock, deleted: stamp(Date.now() + 60_000) } } }],
  });
  return alice;
}

describe('sync:pull order rank (the first-sync page)', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('answers the top of the list, the log position and the unread totals a full pull shows', async () => {
    const alice = await populate(harness);
    const full = await alice.pullAll();
    const list = listOf(byId(full.documents).values());
    expect(list.length).toBe(11);
    expect(list.slice(0, 2).every((doc) => doc.stickTop)).toBe(true);
    expect(unreadOf(list)).toBeGreaterThan(0);

    const page = await firstPage(alice, 5);
    expect(page.documents).toEqual(list.slice(0, 5));
    expect(page.hasMore).toBe(true);
    expect(page.checkpoint).toEqual({ seq: full.seq });
    expect(page.unread.total).toBe(unreadOf(list));
    const cells = page.unread.cells;
    expect(unreadOfCells(cells)).toBe(unreadOf(list));
    expect(unreadOfCells(cells, { ignoreMuted: true })).toBe(unreadOf(list, { ignoreMuted: true }));
    expect(unreadOfCells(cells, { conversationGroupId: 'work' })).toBe(unreadOf(list, { group: 'work' }));
    expect(unreadOfCells(cells, { conversationGroupId: 'home', ignoreMuted: true })).toBe(unreadOf(list, { group: 'home', ignoreMuted: true }));
    expect(unreadOfCells(cells, { conversationTypes: [2] })).toBe(0);

    const whole = await firstPage(alice, 100);
    expect(whole.documents).toEqual(list);
    expect(whole.hasMore).toBe(false);
  });

  it('moves with the log: after a read, the next device\'s page has the new totals at a later position', async () => {
    const alice = await populate(harness);
    const before = await firstPage(alice, 3);
    const top = before.documents[2] as ConversationDoc;
    const read = { ...top, lastReadTime: Math.max(top.lastMessage?.messageRefer.createTime ?? 0, 1) };
    await alice.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: read }] });
    const after = await firstPage(alice, 3);
    const list = listOf(byId((await alice.pullAll()).documents).values());
    expect(after.documents).toEqual(list.slice(0, 3));
    expect(after.unread.total).toBe(before.unread.total - top.unreadCount);
    expect(after.checkpoint.seq).toBeGreaterThan(before.checkpoint.seq);
  });

  it('carries the same page as JSON bytes when asked for format json', async () => {
    const alice = await populate(harness);
    const objects = await firstPage(alice, 4);
    const raw = await alice.ok(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 4, order: 'rank', format: 'json' });
    expect(unpackPullAnswer(raw)).toEqual({ ok: true, ...objects });
  });

  it('answers an empty account with an empty page at position 0 and no unread', async () => {
    const server = await harness.server();
    const nobody = await harness.client(server, 'nobody');
    expect(await firstPage(nobody, 50)).toEqual({
      ok: true, collection: 'conversations', documents: [], checkpoint: { seq: 0 }, hasMore: false, unread: { total: 0, cells: [] },
    });
  });

  it('refuses order rank on groups, with a checkpoint, and an unknown order, with 191004', async () => {
    const server = await harness.server();
    const alice = await harness.client(server, 'alice');
    for (const request of [
      { collection: 'conversationGroups', checkpoint: null, batchSize: 10, order: 'rank' },
      { collection: 'conversations', checkpoint: { seq: 3 }, batchSize: 10, order: 'rank' },
      { collection: 'conversations', checkpoint: null, batchSize: 10, order: 'newest' },
    ]) {
      const answer = await alice.request(ClientEvent.PULL, request);
      expect(answer.ok ? 'accepted' : answer.error.code).toBe(ErrorCode.INVALID_PARAMETER);
    }
  });
});
