/**
 * Seeded random runs: random edits from several devices of one account, pushed concurrently in
 * random orders, with retries and interleaved messages, end in the same stored state as the same
 * edits pushed once, in order, one at a time.
 */
import { ClientEvent, formatStamp, type ConversationDoc } from '@convsync/protocol';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, byId, localDoc, type Client } from './helpers.js';

const PEERS = ['bob', 'carol', 'dan'];
const DEVICES = ['d1', 'd2', 'd3'];

const editArbitrary = fc.record({
  peer: fc.constantFrom(...PEERS),
  device: fc.constantFrom(...DEVICES),
  wallMs: fc.integer({ min: 1, max: 50 }),
  kind: fc.constantFrom('stickTop', 'mute', 'serverExtension', 'deleted', 'group', 'read'),
  flag: fc.boolean(),
  value: fc.constantFrom('', 'a', 'b', 'c'),
});
type Edit = typeof editArbitrary extends fc.Arbitrary<infer T> ? T : never;

function editedDoc(edit: Edit, readTimes: readonly number[]): ConversationDoc {
  const base = localDoc(`alice|1|${edit.peer}`);
  const stamp = formatStamp({ wallMs: edit.wallMs, counter: 0, deviceId: edit.device });
  switch (edit.kind) {
    case 'stickTop': return { ...base, stickTop: edit.flag, clock: { ...base.clock, stickTop: stamp } };
    case 'mute': return { ...base, mute: edit.flag, clock: { ...base.clock, mute: stamp } };
    case 'serverExtension': return { ...base, serverExtension: edit.value, clock: { ...base.clock, serverExtension: stamp } };
    case 'deleted': return { ...base, deletedBefore: readTimes[edit.wallMs % readTimes.length] ?? 0, clock: { ...base.clock, deleted: stamp } };
    case 'group': return { ...base, groups: [{ groupId: `g${edit.value || 'x'}`, member: edit.flag, stamp }] };
    default: return { ...base, lastReadTime: readTimes[edit.wallMs % readTimes.length] ?? 0 };
  }
}

async function pushOne(client: Client, doc: ConversationDoc): Promise<void> {
  await client.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: doc }] });
}

/** What must agree across runs: everything but the log positions and server clocks. */
function comparable(doc: ConversationDoc) {
  const { serverRev: _rev, sortOrder: _sort, createTime: _create, updateTime: _update, rank: _rank, ...rest } = doc;
  return rest;
}

describe('convergence', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('concurrent, reordered and retried pushes end where one ordered push of each edit ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(editArbitrary, { minLength: 1, maxLength: 25 }), fc.integer(), async (edits, seed) => {
        const runs: Map<string, ReturnType<typeof comparable>>[] = [];
        for (const mode of ['ordered', 'concurrent'] as const) {
          let clock = 1_000;
          let nextId = 0;
          const server = await h.server({ now: () => clock, newMessageId: () => `m${++nextId}` });
          // The same messages in both runs, so read times and unread counts line up.
          const readTimes: number[] = [0];
          for (const peer of PEERS) {
            for (let i = 0; i < 3; i++) {
              clock += 10;
              readTimes.push((await server.sendMessage({ from: peer, conversationType: 1, targetId: 'alice', text: `${peer}${i}`, clientMessageId: `${peer}-${i}` })).createTime);
            }
          }
          const docs = edits.map((edit) => editedDoc(edit, readTimes));
          if (mode === 'ordered') {
            const device = await h.client(server, 'alice');
            for (const doc of docs) await pushOne(device, doc);
          } else {
            const devices = await Promise.all(DEVICES.map((deviceId) => h.client(server, 'alice', { deviceId })));
            // A seeded shuffle, each edit pushed once or twice by some device, all at the same time.
            const order = docs.map((doc, i) => ({ doc, key: (Math.imul(i + 1, 2654435761) ^ seed) >>> 0 })).sort((a, b) => a.key - b.key);
            await Promise.all(order.flatMap(({ doc, key }, i) => {
              const device = devices[key % devices.length] as Client;
              return key % 3 === 0 ? [pushOne(device, doc), pushOne(devices[i % devices.length] as Client, doc)] : [pushOne(device, doc)];
            }));
          }
          const pulled = byId((await (await h.client(server, 'alice', { deviceId: 'reader' })).pullAll()).documents);
          runs.push(new Map([...pulled].map(([id, doc]) => [id, comparable(doc)])));
          await h.close();
        }
        expect(runs[1]).toEqual(runs[0]);
      }),
      { numRuns: 30, seed: 20261125 },
    );
  });
});
