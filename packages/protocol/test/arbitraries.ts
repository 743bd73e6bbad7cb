/** fast-check generators of conversation and group documents with small value spaces, so that
 * random pairs share ids, stamps and times often enough to exercise every tie. */
import fc from 'fast-check';
import {
  emptyConversation,
  formatStamp,
  normalizeConversation,
  type ConversationDoc,
  type ConversationGroupDoc,
  type LastMessage,
  type Stamp,
} from '../src/index.js';

export const CONVERSATION_ID = 'alice|1|bob';

export const stampArb: fc.Arbitrary<Stamp> = fc.oneof(
  fc.constant(''),
  fc.record({
    wallMs: fc.integer({ min: 1, max: 6 }),
    counter: fc.integer({ min: 0, max: 2 }),
    deviceId: fc.constantFrom('devA', 'devB', 'devC'),
  }).map(formatStamp),
);

const timeArb = fc.integer({ min: 0, max: 8 });

export const lastMessageArb: fc.Arbitrary<LastMessage | null> = fc.option(
  fc.record({ createTime: fc.integer({ min: 1, max: 8 }), serverId: fc.constantFrom('m1', 'm2', 'm3') }).map(
    ({ createTime, serverId }): LastMessage => ({
      messageRefer: {
        senderId: 'bob',
        receiverId: 'alice',
        messageClientId: `c-${serverId}`,
        messageServerId: serverId,
        conversationType: 1,
        conversationId: CONVERSATION_ID,
        createTime,
      },
      lastMessageState: 0,
      messageType: 0,
      text: `text ${serverId}`,
      senderName: 'Bob',
    }),
  ),
  { freq: 3 },
);

/** A raw document as any replica might hold it (registers, max-registers, server block). */
export const conversationArb: fc.Arbitrary<ConversationDoc> = fc
  .record({
    stickTop: fc.boolean(),
    stickTopStamp: stampArb,
    mute: fc.boolean(),
    muteStamp: stampArb,
    serverExtension: fc.constantFrom('', 'x', 'y'),
    serverExtensionStamp: stampArb,
    created: stampArb,
    deleted: stampArb,
    groups: fc.uniqueArray(
      fc.record({ groupId: fc.constantFrom('g1', 'g2', 'g3'), member: fc.boolean(), stamp: stampArb }),
      { selector: (g) => g.groupId, maxLength: 3 },
    ),
    lastReadTime: timeArb,
    deletedBefore: timeArb,
    clearedBefore: timeArb,
    serverRev: fc.integer({ min: 0, max: 3 }),
    name: fc.constantFrom('', 'Bob', 'Robert'),
    lastMessage: lastMessageArb,
    unreadCount: fc.integer({ min: 0, max: 4 }),
    sortOrder: fc.integer({ min: 1, max: 9 }),
    createTime: fc.integer({ min: 1, max: 9 }),
    updateTime: fc.integer({ min: 1, max: 9 }),
  })
  .map((r) =>
    normalizeConversation({
      ...emptyConversation({ conversationId: CONVERSATION_ID, now: r.createTime }),
      stickTop: r.stickTop,
      mute: r.mute,
      serverExtension: r.serverExtension,
      groups: r.groups,
      lastReadTime: r.lastReadTime,
      deletedBefore: r.deletedBefore,
      clearedBefore: r.clearedBefore,
      serverRev: r.serverRev,
      name: r.name,
      lastMessage: r.lastMessage,
      unreadCount: r.unreadCount,
      sortOrder: r.sortOrder,
      updateTime: r.updateTime,
      clock: {
        created: r.created,
        stickTop: r.stickTopStamp,
        mute: r.muteStamp,
        serverExtension: r.serverExtensionStamp,
        deleted: r.deleted,
      },
    }),
  );

export const groupArb: fc.Arbitrary<ConversationGroupDoc> = fc
  .record({
    name: fc.constantFrom('Work', 'Family', 'Friends'),
    nameStamp: stampArb,
    serverExtension: fc.constantFrom('', 'x'),
    extStamp: stampArb,
    deleted: stampArb,
    createTime: timeArb,
    updateTime: timeArb,
  })
  .map((r) => ({
    groupId: 'g1',
    name: r.name,
    serverExtension: r.serverExtension,
    createTime: r.createTime,
    updateTime: r.updateTime,
    clock: { name: r.nameStamp, serverExtension: r.extStamp, deleted: r.deleted },
    _deleted: r.deleted !== '',
  }));
