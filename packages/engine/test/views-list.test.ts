import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import { openServices, receive, serverDoc, waitFor, type ServiceHarness } from './services.helpers.js';

const open: ServiceHarness[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const T = 1_700_000_000_000;

describe.each(['memory', 'dexie'] as const)('conversationList$ over %s storage', (storage) => {
  it('a cold start emits the whole ordered list from the snapshot ids and one bulk read', async () => {
    const name = `list-${storage}-${Date.now()}`;
    const first = await openServices({ accountId: 'alice', storage, name });
    const size = 3000;
    await receive(first, Array.from({ length: size }, (_, i) =>
      serverDoc({ conversationId: `alice|1|u${i}`, time: T + i, from: `u${i}`, unread: 1 })));
    await first.conversationService.stickTopConversation('alice|1|u7', true);
    await first.close();
    const started = performance.now();
    const second = await openServices({ accountId: 'alice', storage, name });
    open.push(second);
    const list = await firstValueFrom(second.conversationService.conversationList$());
    const ms = performance.now() - started;
    console.info(`cold start (${storage}, ${size} conversations): conversationList$ first emission after ${ms.toFixed(0)} ms`);
    expect(list).toHaveLength(size);
    expect(list[0]?.conversationId).toBe('alice|1|u7');
    expect(list[1]?.conversationId).toBe(`alice|1|u${size - 1}`);
    expect(list[size - 1]?.conversationId).toBe('alice|1|u0');
  });

  it('follows changes made after it started: new, deleted and moved conversations', async () => {
    const harness = await openServices({ accountId: 'alice', storage });
    open.push(harness);
    const cs = harness.conversationService;
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|a', time: T + 1, from: 'a', unread: 1 }),
      serverDoc({ conversationId: 'alice|1|b', time: T + 2, from: 'b', unread: 0 }),
    ]);
    const list$ = cs.conversationList$();
    const ids = (l: { conversationId: string }[]): string[] => l.map((c) => c.conversationId);
    expect(ids(await firstValueFrom(list$))).toEqual(['alice|1|b', 'alice|1|a']);
    await receive(harness, [serverDoc({ conversationId: 'alice|1|c', time: T + 3, from: 'c', unread: 2 })]);
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|c,alice|1|b,alice|1|a');
    await cs.deleteConversation('alice|1|b');
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|c,alice|1|a');
    await cs.stickTopConversation('alice|1|a', true);
    await waitFor(list$, (l) => ids(l).join() === 'alice|1|a,alice|1|c');
    const unread$ = cs.conversationList$({ onlyUnread: true });
    expect(ids(await firstValueFrom(unread$))).toEqual(['alice|1|a', 'alice|1|c']);
    await cs.markConversationRead('alice|1|c');
    await waitFor(unread$, (l) => ids(l).join() === 'alice|1|a');
  });

  it('a message waiting in the outbox shows as the last message and moves its conversation up', async () => {
    const harness = await openServices({ accountId: 'alice', storage });
    open.push(harness);
    const cs = harness.conversationService;
    const now = harness.ctx.clock.now();
    await receive(harness, [
      serverDoc({ conversationId: 'alice|1|a', time: now - 2000, from: 'a', unread: 0 }),
      serverDoc({ conversationId: 'alice|1|b', time: now - 1000, from: 'b', unread: 0 }),
    ]);
    const list$ = cs.conversationList$();
    await waitFor(list$, (l) => l.map((c) => c.conversationId).join() === 'alice|1|b,alice|1|a');
    await harness.messageService.sendMessage('alice|1|a', { text: 'offline hello' });
    const list = await waitFor(list$, (l) => l[0]?.conversationId === 'alice|1|a');
    expect(list[0]?.lastMessage?.text).toBe('offline hello');
    expect(list[0]?.lastMessage?.messageRefer.senderId).toBe('alice');
  });
});
