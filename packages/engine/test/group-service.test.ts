import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@convsync/protocol';
import { codeOf, openServices, receive, serverDoc, type ServiceHarness } from './services.helpers.js';

let currentStorage: 'memory' | 'dexie' = 'memory';
const open: ServiceHarness[] = [];
async function services(): Promise<ServiceHarness> {
  const harness = await openServices({ accountId: 'alice', storage: currentStorage });
  open.push(harness);
  return harness;
}
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const T = 1_700_000_000_000;

describe.each(['memory', 'dexie'] as const)('conversationGroupService offline over %s storage', (storage) => {
  beforeEach(() => {
    currentStorage = storage;
  });
  it('creates a group with conversations, reports the ones it could not add, and fires its events', async () => {
    const { conversationService: cs, conversationGroupService: gs } = await services();
    await cs.createConversation('alice|1|bob');
    const created: string[] = [];
    const added: [string, string[]][] = [];
    gs.on('onConversationGroupCreated', (g) => created.push(g.name));
    gs.on('onConversationsAddedToGroup', (groupId, list) => added.push([groupId, list.map((c) => c.conversationId)]));
    const { group, failedList } = await gs.createConversationGroup('friends', 'ext', ['alice|1|bob', 'alice|1|ghost']);
    expect(group).toMatchObject({ name: 'friends', serverExtension: 'ext' });
    expect(failedList.map((f) => [f.conversationId, f.error.code])).toEqual([['alice|1|ghost', ErrorCode.CONVERSATION_NOT_FOUND]]);
    expect(created).toEqual(['friends']);
    expect(added).toEqual([[group.groupId, ['alice|1|bob']]]);
    expect((await cs.getConversation('alice|1|bob')).groupIds).toEqual([group.groupId]);
    expect(await gs.getConversationGroup(group.groupId)).toEqual(group);
    expect(await gs.getConversationGroupListByIds([group.groupId, 'nope'])).toEqual([group]);
  });

  it('update fires onConversationGroupChanged; remove fires onConversationsRemovedFromGroup', async () => {
    const { conversationService: cs, conversationGroupService: gs } = await services();
    await cs.createConversation('alice|1|bob');
    const { group } = await gs.createConversationGroup('a', undefined, ['alice|1|bob']);
    const changed: string[] = [];
    const removed: string[][] = [];
    gs.on('onConversationGroupChanged', (g) => changed.push(`${g.name}/${g.serverExtension}`));
    gs.on('onConversationsRemovedFromGroup', (_id, ids) => removed.push(ids));
    await gs.updateConversationGroup(group.groupId, 'b');
    await gs.updateConversationGroup(group.groupId, undefined, 'x');
    expect(changed).toEqual(['b/', 'b/x']);
    await gs.removeConversationsFromGroup(group.groupId, ['alice|1|bob']);
    expect(removed).toEqual([['alice|1|bob']]);
    expect((await cs.getConversation('alice|1|bob')).groupIds).toEqual([]);
  });

  it('deleting a group removes it from its conversations', async () => {
    const { conversationService: cs, conversationGroupService: gs } = await services();
    await cs.createConversation('alice|1|bob');
    await cs.createConversation('alice|1|eve');
    const { group } = await gs.createConversationGroup('a', undefined, ['alice|1|bob', 'alice|1|eve']);
    const deleted: string[] = [];
    gs.on('onConversationGroupDeleted', (id) => deleted.push(id));
    await gs.deleteConversationGroup(group.groupId);
    expect(deleted).toEqual([group.groupId]);
    expect((await cs.getConversation('alice|1|bob')).groupIds).toEqual([]);
    expect(await gs.getConversationGroupList()).toEqual([]);
    expect(await codeOf(gs.getConversationGroup(group.groupId))).toBe(ErrorCode.GROUP_NOT_FOUND);
    expect(await codeOf(gs.addConversationsToGroup(group.groupId, ['alice|1|bob']))).toBe(ErrorCode.GROUP_NOT_FOUND);
    expect(await codeOf(cs.clearUnreadCountByGroupId(group.groupId))).toBe(ErrorCode.GROUP_NOT_FOUND);
  });

  it('limits: 100 groups (116435), 5 groups per conversation (110304), 1,000 conversations per group (116437)', async () => {
    const harness = await services();
    const { conversationGroupService: gs } = harness;
    await receive(harness, Array.from({ length: 1002 }, (_, i) =>
      serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: 0 })));
    const groups: string[] = [];
    for (let i = 0; i < 100; i++) groups.push((await gs.createConversationGroup(`g${i}`)).group.groupId);
    expect(await codeOf(gs.createConversationGroup('g100'))).toBe(ErrorCode.TOO_MANY_GROUPS);
    for (let i = 0; i < 5; i++) expect(await gs.addConversationsToGroup(groups[i] as string, ['alice|1|u0'])).toEqual([]);
    const sixth = await gs.addConversationsToGroup(groups[5] as string, ['alice|1|u0']);
    expect(sixth.map((f) => f.error.code)).toEqual([ErrorCode.TOO_MANY_GROUPS_FOR_CONVERSATION]);
    const big = groups[99] as string;
    for (let start = 0; start < 1000; start += 100) {
      const ids = Array.from({ length: 100 }, (_, i) => `alice|1|u${start + i + 1}`);
      expect(await gs.addConversationsToGroup(big, ids)).toEqual([]);
    }
    const over = await gs.addConversationsToGroup(big, ['alice|1|u1001']);
    expect(over.map((f) => f.error.code)).toEqual([ErrorCode.TOO_MANY_CONVERSATIONS_IN_GROUP]);
    expect(await codeOf(gs.createConversationGroup(''))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(gs.createConversationGroup('x', 'é'.repeat(513)))).toBe(ErrorCode.INVALID_PARAMETER);
  });
});
