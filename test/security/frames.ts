/**
 * Seeded generators of hostile frames for the fuzz suite: socket.io events with type-confused,
 * malformed or unknown payloads, and raw engine.io/socket.io text frames (broken packets, bogus
 * namespaces, binary placeholders, oversized and deeply nested bodies).
 */
import fc from 'fast-check';
import { ClientEvent } from '@convsync/protocol';
import { validPayload } from './fixtures.js';

export interface EventFrame {
  event: string;
  args: unknown[];
  withAck: boolean;
}

/** Names socket.io-client refuses to emit; they still reach the server in raw frames. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const anyEventName = fc.oneof(
  fc.constantFrom(...Object.values(ClientEvent)),
  fc.constantFrom('sync:stream', 'connect', 'disconnect', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ''),
  fc.string({ maxLength: 40 }),
);
const eventName = anyEventName.filter((name) => !RESERVED.has(name));

/** A valid payload with one field replaced by something of the wrong type. */
function confuse(value: unknown, replacement: unknown, path: number): unknown {
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    if (items.length === 0) return replacement;
    const i = path % items.length;
    return items.map((item, j) => (j === i ? confuse(item, replacement, Math.floor(path / 7)) : item));
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0 || path % 5 === 0) return replacement;
    const key = keys[path % keys.length] as string;
    return { ...value, [key]: confuse((value as Record<string, unknown>)[key], replacement, Math.floor(path / 3)) };
  }
  return replacement;
}

const hostileValue = fc.oneof(
  fc.anything({ maxDepth: 3, withBigInt: false, withBoxedValues: false }),
  fc.constantFrom(null, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, -0, '', 'a'.repeat(5001), '💥'.repeat(600), { __proto__: { polluted: true } }, [[[[[]]]]]),
  fc.string({ maxLength: 200 }),
  fc.integer(),
  fc.double(),
);

export const eventFrame: fc.Arbitrary<EventFrame> = fc.oneof(
  // Type confusion inside otherwise valid payloads.
  fc.record({ event: fc.constantFrom(...Object.values(ClientEvent)), path: fc.nat(), value: hostileValue, withAck: fc.boolean() })
    .map(({ event, path, value, withAck }) => ({ event, args: [confuse(validPayload(event, 'mallory'), value, path)], withAck })),
  // Anything at all, under any name, with any number of arguments.
  fc.record({ event: eventName, args: fc.array(hostileValue, { maxLength: 3 }), withAck: fc.boolean() }),
  // Well-formed but abusive: batches at the limits, huge ids, foreign owners.
  fc.record({ n: fc.integer({ min: 0, max: 600 }), withAck: fc.boolean() }).map(({ n, withAck }) => ({
    event: ClientEvent.PUSH,
    args: [{ collection: 'conversations', rows: Array.from({ length: n }, () => ({ newDocumentState: { conversationId: 'x'.repeat(300) } })) }],
    withAck,
  })),
);

/** Raw text frames for an open engine.io websocket (socket.io already connected on `/`). */
export const rawFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom(
    '42', '42[', '42[]', '42[null]', '42[1,2,3]', '42["sync:pull"', '42{"a":1}', '4', '43', '43[]', '44', '45', '46',
    '45-["sync:push",{"_placeholder":true,"num":99}]', '451-["sync:push",{"_placeholder":true,"num":0}]',
    '40/admin,', '41', '40/nope,{"token":"x"}', '2', '3', '5', '6', '1', '0', '9', '', '42999999999999999999999["sync:pull",{}]',
    `42${'['.repeat(5000)}${']'.repeat(5000)}`, `42["sync:pull",${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}]`,
  ),
  fc.string({ maxLength: 300 }).map((s) => `42${s}`),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.record({ event: anyEventName, payload: hostileValue }).map(({ event, payload }) => `42${JSON.stringify([event, payload]) ?? ''}`),
);

/** A frame over the server's 1.5 MB limit: the server must close that socket and nothing else. */
export function oversizedFrame(): string {
  return `42${JSON.stringify(['sync:push', { collection: 'conversations', rows: [], pad: 'x'.repeat(2_000_000) }])}`;
}

export function sampleFrames<T>(arbitrary: fc.Arbitrary<T>, count: number, seed: number): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed });
}
