/**
 * Opens the device's replica for a signed-in account. Only the engine's public API is used: the
 * engine picks Dexie (IndexedDB) in the browser and derives one database per account and device.
 */
import { createConversationEngine } from '@convsync/engine';
import type { Session } from './session.js';

/** The engine instance the demo talks to. */
export type Engine = Awaited<ReturnType<typeof createConversationEngine>>;
export type ConversationService = Engine['conversationService'];
export type Conversation = Awaited<ReturnType<ConversationService['getConversation']>>;
export type ConversationGroup = Awaited<ReturnType<Engine['conversationGroupService']['getConversationGroup']>>;
export type Message = Awaited<ReturnType<Engine['messageService']['sendMessage']>>;
/** docs/API.md "The engine": what `engine.syncState$` emits. */
export type SyncState = 'offline' | 'syncing' | 'synced' | 'error';

/** Opens (or reopens, after a reload) this device's replica for the session's account. */
export function openEngine(session: Session): Promise<Engine> {
  return createConversationEngine({
    url: session.serverUrl,
    token: session.token,
    storage: 'dexie',
    deviceId: session.deviceId,
  });
}
