import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstValueFrom, skip } from 'rxjs';
import { ErrorCode } from '@convsync/protocol';
import { codeOf, openServices, waitFor, type ServiceHarness } from './services.helpers.js';

let currentStorage: 'memory' | 'dexie' = 'memory';
const open: ServiceHarness[] = [];
async function services(accountId = 'alice'): Promise<ServiceHarness> {
  const harness = await openServices({ accountId, storage: currentStorage });
  open.push(harness);
  return harness;
}
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

describe.each(['memory', 'dexie'] as const)('conversationService offline over %s storage', (storage) => {
  beforeEach(() => {
    currentStorage = storage;
  });
  it('createConversation makes an empty placeholder and returns an existing one as is', async () => {
    const { conversationService: cs } = await services();
    const created = await cs.createConversation('alice|1|bob');
    expect(created).toMatchObject({ conversationId: 'alice|1|bob', type: 1, unreadCount: 0, stickTop: false, groupIds: [] });
    expect(created.lastMessage).toBeUndefined();
    await cs.updateConversation('alice|1|bob', { serverExtension: 'x' });
    const again = await cs.createConversation('alice|1|bob');
    expect(again.serverExtension).toBe('x');
    expect(await cs.getConversation('alice|1|bob')).toEqual(again);
  });

  it('refuses malformed ids, ids of another account and absent conversations with their codes', async () => {
    const { conversationService: cs } = await services();
    expect(await codeOf(cs.createConversation('nonsense'))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(cs.createConversation('alice|9|bob'))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(cs.createConversation('carol|1|bob'))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(cs.getConversation('alice|1|nobody'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
    expect(await codeOf(cs.markConversationRead('alice|1|nobody'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
    expect(await codeOf(cs.stickTopConversation('alice|1|nobody', true))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
  });

  it('a server extension over 1,024 bytes is refused and nothing changes', async () => {
    const { conversationService: cs } = await services();
    await cs.createConversation('alice|1|bob');
    await cs.updateConversation('alice|1|bob', { serverExtension: 'é'.repeat(512) });
    expect(await codeOf(cs.updateConversation('alice|1|bob', { serverExtension: 'é'.repeat(513) }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect((await cs.getConversation('alice|1|bob')).serverExtension).toBe('é'.repeat(512));
  });

  it('the 101st pin fails with 110303 and the first 100 stay pinned', async () => {
    const { conversationService: cs } = await services();
    for (let i = 0; i < 101; i++) await cs.createConversation(`alice|1|u${i}`);
    for (let i = 0; i < 100; i++) await cs.stickTopConversation(`alice|1|u${i}`, true);
    expect(await codeOf(cs.stickTopConversation('alice|1|u100', true))).toBe(ErrorCode.TOO_MANY_PINNED);
    expect(await cs.getStickTopConversationList()).toHaveLength(100);
    await cs.stickTopConversation('alice|1|u0', false);
    await cs.stickTopConversation('alice|1|u100', true);
    expect((await cs.getConversation('alice|1|u100')).stickTop).toBe(true);
  });

  it('pages list pinned first, then newest first, and a page cursor never repeats or skips', async () => {
    let now = 1_700_000_000_000;
    const harness = await openServices({ accountId: 'alice', storage: currentStorage, now: () => now });
    open.push(harness);
    const cs = harness.conversationService;
    for (let i = 0; i < 23; i++) {
      now += 1000;
      await cs.createConversation(`alice|1|u${i}`);
    }
    for (const i of [3, 10, 17]) await cs.stickTopConversation(`alice|1|u${i}`, true);
    const seen: string[] = [];
    let offset = 0;
    let pages = 0;
    for (;;) {
      const page = await cs.getConversationList(offset, 5);
      pages++;
      seen.push(...page.conversationList.map((c) => c.conversationId));
      if (pages === 2) {
        // A conversation created mid-way lands at the top: later pages neither repeat nor skip.
        now += 1000;
        await cs.createConversation('alice|1|late');
      }
      if (page.finished) {
        expect(page.offset).toBe(0);
        break;
      }
      expect(page.offset).toBe(page.conversationList[page.conversationList.length - 1]?.sortOrder);
      offset = page.offset;
    }
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(23);
    expect(seen.slice(0, 3)).toEqual(['alice|1|u17', 'alice|1|u10', 'alice|1|u3']);
    const unpinned = seen.slice(3).map((id) => Number(id.split('|u')[1]));
    expect(unpinned).toEqual([...unpinned].sort((a, b) => b - a));
    const all = await cs.getConversationList(0, 1000);
    expect(all.conversationList).toHaveLength(24);
    expect(all.finished).toBe(true);
  });

  it('a page limit must be an integer of at least 1; above 100 it is capped', async () => {
    const { conversationService: cs } = await services();
    for (let i = 0; i < 3; i++) await cs.createConversation(`alice|1|u${i}`);
    expect(await codeOf(cs.getConversationList(0, 0))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(cs.getConversationList(0, 1.5))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(await codeOf(cs.getConversationList(-1, 10))).toBe(ErrorCode.INVALID_PARAMETER);
    expect((await cs.getConversationList(0, 1_000_000)).conversationList).toHaveLength(3);
  });

  it('options filter the list by type and group', async () => {
    const { conversationService: cs, conversationGroupService: gs } = await services();
    await cs.createConversation('alice|1|bob');
    await cs.createConversation('alice|2|team1');
    await cs.createConversation('alice|3|super1');
    const { group } = await gs.createConversationGroup('work', undefined, ['alice|2|team1']);
    const teams = await cs.getConversationListByOption(0, 10, { conversationTypes: [2, 3] });
    expect(teams.conversationList.map((c) => c.conversationId).sort()).toEqual(['alice|2|team1', 'alice|3|super1']);
    const grouped = await cs.getConversationListByOption(0, 10, { conversationGroupIds: [group.groupId] });
    expect(grouped.conversationList.map((c) => c.conversationId)).toEqual(['alice|2|team1']);
    expect((await cs.getConversationListByOption(0, 10, { onlyUnread: true })).conversationList).toEqual([]);
    expect(await codeOf(cs.getConversationListByOption(0, 10, { conversationTypes: [7 as 1] }))).toBe(ErrorCode.INVALID_PARAMETER);
  });

  it('delete hides the conversation, fires onConversationDeleted, and createConversation brings it back', async () => {
    const { conversationService: cs } = await services();
    await cs.createConversation('alice|1|bob');
    await cs.muteConversation('alice|1|bob', true);
    const deleted: string[][] = [];
    cs.on('onConversationDeleted', (ids) => deleted.push(ids));
    const gone = waitFor(cs.conversation$('alice|1|bob'), (c) => c === null);
    await cs.deleteConversation('alice|1|bob');
    await gone;
    expect(deleted).toEqual([['alice|1|bob']]);
    expect(await codeOf(cs.getConversation('alice|1|bob'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
    expect(await codeOf(cs.deleteConversation('alice|1|bob'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
    const created: string[] = [];
    cs.on('onConversationCreated', (c) => created.push(c.conversationId));
    const revived = await cs.createConversation('alice|1|bob');
    // The tombstone reset what was set before it.
    expect(revived.mute).toBe(false);
    expect(created).toEqual(['alice|1|bob']);
  });

  it('deleteConversationListByIds reports the ids it could not delete; more than 100 ids are refused', async () => {
    const { conversationService: cs } = await services();
    await cs.createConversation('alice|1|a');
    await cs.createConversation('alice|1|b');
    const failed = await cs.deleteConversationListByIds(['alice|1|a', 'alice|1|zz', 'alice|1|b']);
    expect(failed.map((f) => [f.conversationId, f.error.code])).toEqual([['alice|1|zz', ErrorCode.CONVERSATION_NOT_FOUND]]);
    expect((await cs.getConversationList(0, 10)).conversationList).toEqual([]);
    const many = Array.from({ length: 101 }, (_, i) => `alice|1|x${i}`);
    expect(await codeOf(cs.deleteConversationListByIds(many))).toBe(ErrorCode.INVALID_PARAMETER);
  });

  it('the local extension is joined on read and never enters the replicated document', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    await cs.createConversation('alice|1|bob');
    const changed = new Promise<string>((resolve) => cs.on('onConversationChanged', (list) => resolve(list[0]?.localExtension ?? '')));
    await cs.updateConversationLocalExtension('alice|1|bob', 'draft: hi');
    expect(await changed).toBe('draft: hi');
    expect((await cs.getConversation('alice|1|bob')).localExtension).toBe('draft: hi');
    const doc = await harness.ctx.replica.conversations.findOne('alice|1|bob').exec();
    expect(JSON.stringify(doc?.toJSON())).not.toContain('draft');
    expect(await codeOf(cs.updateConversationLocalExtension('alice|1|nobody', 'x'))).toBe(ErrorCode.CONVERSATION_NOT_FOUND);
  });

  it('conversationList$ emits the current list on subscribe and each change once', async () => {
    const { conversationService: cs } = await services();
    await cs.createConversation('alice|1|a');
    const list$ = cs.conversationList$();
    expect((await firstValueFrom(list$)).map((c) => c.conversationId)).toEqual(['alice|1|a']);
    const values: string[][] = [];
    const subscription = list$.subscribe((list) => values.push(list.map((c) => `${c.conversationId}${c.stickTop ? '*' : ''}`)));
    await waitFor(list$, (l) => l.length === 1);
    await cs.createConversation('alice|1|b');
    await cs.stickTopConversation('alice|1|a', true);
    await cs.stickTopConversation('alice|1|a', true);
    await waitFor(list$.pipe(skip(0)), (l) => l[0]?.stickTop === true);
    subscription.unsubscribe();
    expect(values).toEqual([['alice|1|a'], ['alice|1|b', 'alice|1|a'], ['alice|1|a*', 'alice|1|b']]);
  });

  it('a listener that throws breaks neither the call nor the other listeners', async () => {
    const harness = await services();
    const cs = harness.conversationService;
    const seen: string[] = [];
    cs.on('onConversationCreated', () => {
      throw new Error('listener bug');
    });
    cs.on('onConversationCreated', (c) => seen.push(c.conversationId));
    await cs.createConversation('alice|1|bob');
    await cs.createConversation('alice|1|eve');
    expect(seen).toEqual(['alice|1|bob', 'alice|1|eve']);
    expect(harness.errors.map((e) => (e as Error).message)).toEqual(['listener bug', 'listener bug']);
  });

  it('calls after the engine closed reject with 192005', async () => {
    const harness = await services();
    await harness.conversationService.createConversation('alice|1|bob');
    await harness.dispose();
    expect(await codeOf(harness.conversationService.getConversation('alice|1|bob'))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(harness.messageService.sendMessage('alice|1|bob', { text: 'x' }))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(harness.conversationGroupService.getConversationGroupList())).toBe(ErrorCode.CLOSED);
  });

  it('unknown events and empty filters are refused with 191004', async () => {
    const { conversationService: cs } = await services();
    expect(() => cs.on('onNothing' as 'onSyncStarted', () => undefined)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PARAMETER }));
    expect(() => cs.subscribeUnreadCountByFilter({})).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PARAMETER }));
    expect(() => cs.subscribeUnreadCountByFilter({ conversationTypes: [] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PARAMETER }));
    expect(await codeOf(cs.getUnreadCountByFilter({ bogus: 1 } as never))).toBe(ErrorCode.INVALID_PARAMETER);
  });
});
