/**
 * Real engines (`createConversationEngine`, RxDB replicas in memory) of one account on different
 * server processes, each given the cluster's URLs: edits, reads and messages cross processes, and
 * when one engine's process is SIGKILLed it moves to another and keeps replicating.
 * Two engines use 8 of the 13 RxDB collections a process may open.
 */
import { createConversationEngine, type ConversationEngine } from '@convsync/engine';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, requireServices, runId } from './cluster.js';

async function eventually(condition: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

describe('engines of one account on different server processes', () => {
  const cluster = new Cluster({ processes: 3 });
  const engines: ConversationEngine[] = [];
  const suffix = runId('').replace(/^_/, '');

  beforeAll(async () => {
    await requireServices();
    await cluster.start();
  });

  afterEach(async () => {
    while (engines.length > 0) await engines.pop()?.close();
  });

  afterAll(async () => {
    await cluster.close();
  });

  /** An engine that first tries process `start`, then the others in turn. */
  async function engine(account: string, deviceId: string, start: number): Promise<ConversationEngine> {
    const urls = [...cluster.urls.slice(start), ...cluster.urls.slice(0, start)];
    const opened = await createConversationEngine({
      urls,
      token: await cluster.token(account),
      storage: 'memory',
      deviceId,
      databaseName: `scale_${deviceId}_${suffix}`,
    });
    engines.push(opened);
    let state = '';
    const subscription = opened.syncState$.subscribe((next) => { state = next; });
    try {
      await eventually(() => state === 'synced', `${deviceId} synced`);
    } finally {
      subscription.unsubscribe();
    }
    return opened;
  }

  it('replicates pins, reads and messages across processes, and survives its process being killed', async () => {
    const alice = `ealice_${suffix}`;
    const bob = `ebob_${suffix}`;
    const chat = `${alice}|1|${bob}`;
    const phone = await engine(alice, `phone_${suffix}`, 0);
    const laptop = await engine(alice, `laptop_${suffix}`, 1);

    await phone.conversationService.createConversation(chat);
    await phone.conversationService.stickTopConversation(chat, true);
    await eventually(async () => (await laptop.conversationService.getConversation(chat).catch(() => undefined))?.stickTop === true,
      'the pin on the other process');

    await cluster.backend.sendMessage({ from: bob, conversationType: 1, targetId: alice, text: 'one' });
    await cluster.backend.sendMessage({ from: bob, conversationType: 1, targetId: alice, text: 'two' });
    await eventually(() => phone.conversationService.getTotalUnreadCount() === 2 && laptop.conversationService.getTotalUnreadCount() === 2,
      'two unread on both devices');
    await laptop.conversationService.markConversationRead(chat);
    await eventually(() => phone.conversationService.getTotalUnreadCount() === 0, 'the read from the other device');

    // The laptop's process dies: the engine moves to the next URL and replicates from there.
    await cluster.nodes[1]?.kill();
    await phone.messageService.sendMessage(chat, { text: 'are you there?' });
    await eventually(async () => (await laptop.conversationService.getConversation(chat)).lastMessage?.text === 'are you there?',
      'the phone\'s message after the laptop\'s process died');
    await cluster.backend.sendMessage({ from: bob, conversationType: 1, targetId: alice, text: 'three' });
    await eventually(() => laptop.conversationService.getTotalUnreadCount() === 1 && phone.conversationService.getTotalUnreadCount() === 1,
      'the next message on both devices');
    const [onPhone, onLaptop] = await Promise.all([phone, laptop].map((e) => e.conversationService.getConversation(chat)));
    expect(onLaptop).toMatchObject({ stickTop: true, unreadCount: 1, lastMessage: { text: 'three' } });
    expect(onPhone).toMatchObject({ stickTop: true, unreadCount: 1, lastMessage: { text: 'three' } });
  });
});
