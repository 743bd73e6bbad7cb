import { startServer } from '@convsync/server';
import { createConversationEngine, ConversationType } from '@convsync/engine';
import { firstValueFrom, filter } from 'rxjs';

// A server with two users and a message waiting for alice (any ConvSync server works the same way).
const server = await startServer({ database: ':memory:', port: 0 });
await server.upsertUser({ accountId: 'bob', name: 'Bob' });
await server.sendMessage({ from: 'bob', conversationType: ConversationType.P2P, targetId: 'alice', text: 'hi alice' });

// alice's device: an RxDB replica (memory in Node; Dexie in browsers), replicated with the server.
const engine = await createConversationEngine({ url: server.url, token: await server.issueToken('alice') });
const { conversationService, messageService } = engine;

engine.syncState$.subscribe((state) => console.log('sync:', state));
conversationService.totalUnreadCount$.subscribe((count) => console.log('unread:', count));
conversationService.on('onConversationChanged', (list) => console.log('changed:', list.map((c) => c.conversationId)));

await firstValueFrom(engine.syncState$.pipe(filter((state) => state === 'synced')));
const bob = engine.conversationIdUtil.p2pConversationId('bob'); // 'alice|1|bob'
const page = await conversationService.getConversationList(0, 20);
console.log(page.conversationList.map((c) => `${c.name}: ${c.lastMessage?.text} (${c.unreadCount} unread)`));

await conversationService.stickTopConversation(bob, true);   // works offline too; replicated when online
await conversationService.markConversationRead(bob);         // unread 0 at once, on every device
await messageService.sendMessage(bob, { text: 'hi bob' });   // stored in the outbox, delivered once online

await engine.close();
await server.close();
