/**
 * The hand-written fast checks of pull pages and stream events are never more permissive than the
 * protocol's valibot schemas: on real server documents they accept (so the fast path is taken), and
 * on every single-field mutation of them they accept only what valibot accepts unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  ConversationType,
  conversationDocSchema,
  conversationGroupDocSchema,
  pullAnswerSchema,
  streamEventSchema,
  type SessionEndpoint,
} from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import {
  isConversationDocFast,
  isConversationGroupDocFast,
  isPullSuccessFast,
  isStreamEventFast,
} from '../src/transport/fast-validate.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const STAMP = '000001700000000-000003-devA';

/** A server with varied documents of `alice`: P2P and team messages, pins, groups, a deleted one. */
async function seeded(): Promise<{ server: ConvSyncServer; session: SessionEndpoint }> {
  const server = await startServer({ database: ':memory:', port: 0 });
  cleanups.push(() => server.close());
  await server.upsertUser({ accountId: 'bob', name: 'Bob ✓', avatar: 'https://example.com/b.png' });
  await server.createTeam({ teamId: 'team1', name: 'Team One', memberIds: ['alice', 'bob'] });
  await server.sendMessage({ from: 'bob', conversationType: ConversationType.P2P, targetId: 'alice', text: 'héllo 🌍' });
  await server.sendMessage({ from: 'alice', conversationType: ConversationType.P2P, targetId: 'carol', text: 'mine' });
  await server.sendMessage({ from: 'bob', conversationType: ConversationType.TEAM, targetId: 'team1', text: 'x'.repeat(900) });
  const session = await server.connectInProcess(await server.issueToken('alice'), { deviceId: 'devA' });
  cleanups.push(() => session.close());
  const pulled = await session.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 100 });
  const docs = (pulled as unknown as { documents: Record<string, unknown>[] }).documents;
  const first = docs[0];
  if (first === undefined) throw new Error('no documents');
  // Edits through push, so stamps, group registers and a tombstone come from the server too.
  const edited = {
    ...first,
    stickTop: true,
    mute: true,
    serverExtension: '{"k":"€"}',
    groups: [{ groupId: 'g1', member: true, stamp: STAMP }, { groupId: 'g2', member: false, stamp: STAMP }],
    clock: { ...(first['clock'] as object), stickTop: STAMP, mute: STAMP, serverExtension: STAMP },
  };
  const group = {
    groupId: 'g1', name: 'Work', serverExtension: '', createTime: 1_700_000_000_000, updateTime: 1_700_000_000_000,
    clock: { name: STAMP, serverExtension: STAMP, deleted: '' }, _deleted: false,
  };
  const pushed = await session.request('sync:push', { collection: 'conversations', rows: [{ newDocumentState: edited }] });
  expect(pushed.ok).toBe(true);
  expect((await session.request('sync:push', { collection: 'conversationGroups', rows: [{ newDocumentState: group }] })).ok).toBe(true);
  return { server, session };
}

async function pull(session: SessionEndpoint, collection: 'conversations' | 'conversationGroups'): Promise<Record<string, unknown>> {
  return JSON.parse(JSON.stringify(await session.request('sync:pull', { collection, checkpoint: null, batchSize: 100 }))) as Record<string, unknown>;
}

const BAD_VALUES: unknown[] = [
  null, true, false, 0, 1, 2, 3, 100, -1, 1.5, Number.NaN, 8.64e15 + 1, 2 ** 53, '', 'x', 'bad id!', 'a|1|b', 'a|9|b',
  'x'.repeat(129), 'x'.repeat(501), 'x'.repeat(1025), '€'.repeat(400), [], {}, STAMP, '1-2-3', [1], { seq: 1 },
];

/** Every value reachable from `root`, with a setter and a deleter for its place. */
function* mutants(root: unknown): Generator<unknown> {
  const clone = (): unknown => JSON.parse(JSON.stringify(root)) as unknown;
  const paths: (string | number)[][] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (path.length > 0) paths.push(path);
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]));
    else if (typeof value === 'object' && value !== null) for (const key of Object.keys(value)) walk((value as Record<string, unknown>)[key], [...path, key]);
  };
  walk(root, []);
  const parentOf = (doc: unknown, path: (string | number)[]): Record<string | number, unknown> => {
    let at = doc as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
    return at;
  };
  for (const path of paths) {
    const last = path[path.length - 1] as string | number;
    for (const bad of BAD_VALUES) {
      const doc = clone();
      parentOf(doc, path)[last] = bad;
      yield doc;
    }
    const removed = clone();
    const parent = parentOf(removed, path);
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
    yield removed;
    const value = parentOf(clone(), path)[last];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const extra = clone();
      (parentOf(extra, path)[last] as Record<string, unknown>)['extra'] = 1;
      yield extra;
    }
  }
  const extraTop = clone();
  if (typeof extraTop === 'object' && extraTop !== null) {
    (extraTop as Record<string, unknown>)['extra'] = 1;
    yield extraTop;
  }
}

/** Where `fast` says yes, valibot must accept and return the input unchanged. */
function neverMorePermissive(fast: (value: unknown) => boolean, schema: v.GenericSchema, root: unknown): { checked: number; accepted: number } {
  let checked = 0;
  let accepted = 0;
  for (const mutant of mutants(root)) {
    checked++;
    if (!fast(mutant)) continue;
    accepted++;
    const parsed = v.safeParse(schema, mutant);
    expect(parsed.success, JSON.stringify(mutant).slice(0, 300)).toBe(true);
    if (parsed.success) expect(parsed.output).toEqual(mutant);
  }
  return { checked, accepted };
}

describe('fast validation of pull pages and stream events', () => {
  it('accepts the documents a real server sends, exactly as valibot does', async () => {
    const { session } = await seeded();
    const conversations = await pull(session, 'conversations');
    const groups = await pull(session, 'conversationGroups');
    const docs = conversations['documents'] as unknown[];
    expect(docs.length).toBe(3);
    expect(docs.some((d) => (d as { groupIds: string[] }).groupIds.length > 0)).toBe(true);
    expect(docs.some((d) => (d as { lastMessage: unknown }).lastMessage === null)).toBe(false);
    for (const doc of docs) {
      expect(isConversationDocFast(doc)).toBe(true);
      expect(v.parse(conversationDocSchema, doc)).toEqual(doc);
    }
    for (const doc of groups['documents'] as unknown[]) {
      expect(isConversationGroupDocFast(doc)).toBe(true);
      expect(v.parse(conversationGroupDocSchema, doc)).toEqual(doc);
    }
    expect(isPullSuccessFast(conversations)).toBe(true);
    expect(isPullSuccessFast(groups)).toBe(true);
  });

  it('never accepts a mutated document, page or stream event that valibot refuses or would change', async () => {
    const { session } = await seeded();
    const conversations = await pull(session, 'conversations');
    const groups = await pull(session, 'conversationGroups');
    let total = 0;
    for (const doc of conversations['documents'] as unknown[]) total += neverMorePermissive(isConversationDocFast, conversationDocSchema, doc).checked;
    for (const doc of groups['documents'] as unknown[]) total += neverMorePermissive(isConversationGroupDocFast, conversationGroupDocSchema, doc).checked;
    const page = { ...conversations, documents: (conversations['documents'] as unknown[]).slice(0, 1) };
    total += neverMorePermissive(isPullSuccessFast, pullAnswerSchema, page).checked;
    const event = { collection: 'conversationGroups', documents: groups['documents'], checkpoint: groups['checkpoint'], prevSeq: 0 };
    expect(isStreamEventFast(event)).toBe(true);
    total += neverMorePermissive(isStreamEventFast, streamEventSchema, event).checked;
    expect(total).toBeGreaterThan(5000);
  });

  it('a page of 600 conversations: the fast check accepts it and is cheaper than valibot (figures logged)', async () => {
    const { session } = await seeded();
    const conversations = await pull(session, 'conversations');
    const template = (conversations['documents'] as Record<string, unknown>[])[0] as Record<string, unknown>;
    const documents = Array.from({ length: 600 }, (_, i) => ({ ...template, conversationId: `alice|1|peer${i}`, targetId: `peer${i}` }));
    const page = { ...conversations, documents };
    const time = (run: () => unknown): number => {
      const start = performance.now();
      for (let i = 0; i < 20; i++) run();
      return (performance.now() - start) / 20;
    };
    expect(isPullSuccessFast(page)).toBe(true);
    const slow = time(() => v.safeParse(pullAnswerSchema, page));
    const fast = time(() => isPullSuccessFast(page));
    console.log(`600-document pull page: valibot ${slow.toFixed(2)} ms, fast check ${fast.toFixed(2)} ms`);
    expect(fast).toBeLessThan(slow);
  });
});
