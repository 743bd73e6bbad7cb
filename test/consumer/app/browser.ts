// The browser entry the scratch app bundles with Vite: the engine on Dexie (IndexedDB).
import { createConversationEngine } from '@convsync/engine';

createConversationEngine({ url: location.origin, token: new URLSearchParams(location.search).get('token') ?? '', storage: 'dexie' })
  .then((engine) => {
    engine.conversationService.totalUnreadCount$.subscribe((count) => { document.title = `${count} unread`; });
  })
  .catch((error: unknown) => { document.body.textContent = String(error); });
