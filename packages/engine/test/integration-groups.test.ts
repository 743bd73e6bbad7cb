/** docs/API.md "conversationGroupService" row by row over socket.io: a group call on one device, its effect and event on the other. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@convsync/protocol';
import { codeOf, eventually } from './services.helpers.js';
import { record, startCluster, type Cluster, type Engine } from './integration.helpers.js';
import type { Conversation, ConversationGroup } from '../src/services/index.js';

let cluster: Cluster;
let a: Engine;
let b: Engine;

beforeEach(async () => {
  cluster = await startCluster();
  a = await cluster.device('alice');
  b = await cluster.device('alice');
  await a.conversationService.createConversation('alice|1|bob');
  await a.conversationService.createConversation('alice|1|eve');
  await eventually(async () => (await b.conversationService.getConversationList(0, 10)).conversationList.length === 2);
});
afterEach(async () => {
  await cluster.close();
});

describe('conversationGroupService across two devices of one account', () => {
  it('createConversationGroup: the other device gets onConversationGroupCreated and the membership', async () => {
    const created = record<[ConversationGroup]>((l) => b.conversationGroupService.on('onConversationGroupCreated', l));
    const { group } = await a.conversationGroupService.createConversationGroup('work', '{"icon":1}', ['alice|1|bob']);
    await eventually(() => created.some(([g]) => g.groupId === group.groupId));
    expect(await b.conversationGroupService.getConversationGroup(group.groupId)).toEqual(group);
    await eventually(async () => (await b.conversationService.getConversation('alice|1|bob')).groupIds.includes(group.groupId));
    expect(await b.conversationGroupService.getConversationGroupList()).toEqual([group]);
    expect(await b.conversationGroupService.getConversationGroupListByIds([group.groupId])).toEqual([group]);
  });

  it('updateConversationGroup: the other device gets onConversationGroupChanged', async () => {
    const { group } = await a.conversationGroupService.createConversationGroup('work');
    await eventually(async () => (await b.conversationGroupService.getConversationGroupList()).length === 1);
    const changed = record<[ConversationGroup]>((l) => b.conversationGroupService.on('onConversationGroupChanged', l));
    await a.conversationGroupService.updateConversationGroup(group.groupId, 'play', 'x');
    await eventually(() => changed.some(([g]) => g.name === 'play' && g.serverExtension === 'x'));
  });

  it('addConversationsToGroup / removeConversationsFromGroup: the other device gets both events', async () => {
    const { group } = await a.conversationGroupService.createConversationGroup('work');
    await eventually(async () => (await b.conversationGroupService.getConversationGroupList()).length === 1);
    const added = record<[string, Conversation[]]>((l) => b.conversationGroupService.on('onConversationsAddedToGroup', l));
    const removed = record<[string, string[]]>((l) => b.conversationGroupService.on('onConversationsRemovedFromGroup', l));
    expect(await a.conversationGroupService.addConversationsToGroup(group.groupId, ['alice|1|bob', 'alice|1|eve'])).toEqual([]);
    await eventually(() => added.flatMap(([, list]) => list.map((c) => c.conversationId)).length === 2);
    const filtered = await b.conversationService.getConversationListByOption(0, 10, { conversationGroupIds: [group.groupId] });
    expect(filtered.conversationList).toHaveLength(2);
    await a.conversationGroupService.removeConversationsFromGroup(group.groupId, ['alice|1|eve']);
    await eventually(() => removed.some(([id, ids]) => id === group.groupId && ids.includes('alice|1|eve')));
    expect((await b.conversationService.getConversation('alice|1|eve')).groupIds).toEqual([]);
  });

  it('clearUnreadCountByGroupId on one device clears that group\'s unread on the other', async () => {
    await cluster.server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'one' });
    await cluster.server.sendMessage({ from: 'eve', conversationType: 1, targetId: 'alice', text: 'two' });
    await eventually(() => a.conversationService.getTotalUnreadCount() === 2 && b.conversationService.getTotalUnreadCount() === 2);
    const { group } = await a.conversationGroupService.createConversationGroup('work', '', ['alice|1|bob']);
    await eventually(async () => (await b.conversationService.getUnreadCountByFilter({ conversationGroupId: group.groupId })) === 1);
    const totals: number[] = [];
    b.conversationService.on('onTotalUnreadCountChanged', (n) => totals.push(n));
    await a.conversationService.clearUnreadCountByGroupId(group.groupId);
    await eventually(() => totals.includes(1));
    expect((await b.conversationService.getConversation('alice|1|bob')).unreadCount).toBe(0);
    expect((await b.conversationService.getConversation('alice|1|eve')).unreadCount).toBe(1);
  });

  it('deleteConversationGroup: the other device gets onConversationGroupDeleted and the group leaves its conversations', async () => {
    const { group } = await a.conversationGroupService.createConversationGroup('work', '', ['alice|1|bob']);
    await eventually(async () => (await b.conversationService.getConversation('alice|1|bob')).groupIds.length === 1);
    const deleted = record<[string]>((l) => b.conversationGroupService.on('onConversationGroupDeleted', l));
    await a.conversationGroupService.deleteConversationGroup(group.groupId);
    await eventually(() => deleted.some(([id]) => id === group.groupId));
    await eventually(async () => (await b.conversationService.getConversation('alice|1|bob')).groupIds.length === 0);
    expect(await codeOf(b.conversationGroupService.getConversationGroup(group.groupId))).toBe(ErrorCode.GROUP_NOT_FOUND);
  });
});
