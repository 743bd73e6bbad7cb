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
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Harness, byId, localDoc, type Client } from './helpers.js';

const PG_URL = process.env.CONVSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `fs${process.pid.toString(36)}${Date.now().toString(36)}`;

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

const PEERS = ['bob', 'carol', 'dan', 'erin'];

const operation = fc.oneof(
  fc.record({ kind: fc.constant('message' as const), peer: fc.constantFrom(...PEERS), own: fc.boolean() }),
  fc.record({
    kind: fc.constantFrom('stickTop' as const, 'mute' as const, 'group' as const, 'delete' as const, 'read' as const),
    peer: fc.constantFrom(...PEERS),
    flag: fc.boolean(),
    group: fc.constantFrom('g1', 'g2'),
  }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

/** A device's edit of alice's conversation with `peer`, made on the state it last pulled. */
function edit(op: Exclude<Operation, { kind: 'message' }>, doc: ConversationDoc, wallMs: number): ConversationDoc {
  const at = stamp(wallMs);
  const lastTime = doc.lastMessage?.messageRefer.createTime ?? 0;
  switch (op.kind) {
    case 'stickTop': return { ...doc, stickTop: op.flag, clock: { ...doc.clock, stickTop: at } };
    case 'mute': return { ...doc, mute: op.flag, clock: { ...doc.clock, mute: at } };
    case 'group': return { ...doc, groups: [...doc.groups.filter((g) => g.groupId !== op.group), { groupId: op.group, member: op.flag, stamp: at }] };
    case 'delete': return { ...doc, deletedBefore: Math.max(doc.deletedBefore, lastTime), clock: { ...doc.clock, deleted: at } };
    default: return { ...doc, lastReadTime: Math.max(doc.lastReadTime, op.flag ? lastTime : 0) };
  }
}

/** Plays `ops` on alice's account in rounds of up to three at once (three devices, and the peers' sends). */
async function play(harness: Harness, database: string, ops: readonly Operation[]): Promise<void> {
  const server = await harness.server({ database });
  const devices = await Promise.all(['d1', 'd2', 'd3'].map((deviceId) => harness.client(server, 'alice', { deviceId })));
  const first = devices[0] as Client;
  await first.ok(ClientEvent.PUSH, { collection: 'conversations', rows: PEERS.map((peer) => ({ newDocumentState: localDoc(`alice|1|${peer}`) })) });
  let wallMs = 100;
  let sent = 0;
  for (let start = 0; start < ops.length; start += 3) {
    const state = byId((await first.pullAll()).documents);
    await Promise.all(ops.slice(start, start + 3).map(async (op, i) => {
      if (op.kind === 'message') {
        sent++;
        await server.sendMessage(op.own
          ? { from: 'alice', conversationType: 1, targetId: op.peer, text: `to ${op.peer}`, clientMessageId: `m${sent}` }
          : { from: op.peer, conversationType: 1, targetId: 'alice', text: `from ${op.peer}`, clientMessageId: `m${sent}` });
        return;
      }
      const doc = state.get(`alice|1|${op.peer}`) as ConversationDoc;
      wallMs += 1;
      await (devices[i] as Client).ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: edit(op, doc, wallMs) }] });
    }));
  }
  // A new device's first page: the list's top and the totals a full pull of the log shows.
  const reader = await harness.client(server, 'alice', { deviceId: 'fresh' });
  const page = await firstPage(reader, 3);
  const list = listOf(byId((await reader.pullAll()).documents).values());
  expect(page.documents).toEqual(list.slice(0, 3));
  expect(page.unread.total).toBe(unreadOf(list));
  expect(unreadOfCells(page.unread.cells, { ignoreMuted: true })).toBe(unreadOf(list, { ignoreMuted: true }));
  for (const group of ['g1', 'g2']) {
    expect(unreadOfCells(page.unread.cells, { conversationGroupId: group })).toBe(unreadOf(list, { group }));
    expect(unreadOfCells(page.unread.cells, { conversationGroupId: group, ignoreMuted: true })).toBe(unreadOf(list, { group, ignoreMuted: true }));
  }
  await harness.close();
}

describe('first-sync page: unread totals equal a recount after random edits, messages and reads', () => {
  const harness = new Harness();
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on('error', () => undefined);
  const schemas: string[] = [];
  afterEach(() => harness.close());
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('on SQLite', async () => {
    await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), (ops) => play(harness, ':memory:', ops)),
      { numRuns: 15 });
  });

  it('on PostgreSQL, with concurrent writers', async () => {
    await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), async (ops) => {
      const schema = `${RUN}_${schemas.length}`;
      schemas.push(schema);
      const url = new URL(PG_URL);
      url.searchParams.set('schema', schema);
      await play(harness, url.toString(), ops);
    }), { numRuns: 6 });
  });
});
