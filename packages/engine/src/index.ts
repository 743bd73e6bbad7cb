/**
 * @convsync/engine — the offline-first client SDK of ConvSync (docs/API.md): an RxDB replica of one
 * account's conversation list on this device, replicated with the server over socket.io, with the
 * seed's conversation, group and message services and RxJS observables.
 */
export { createConversationEngine, type ConversationEngine } from './engine.js';
export type { ConversationEngineOptions, TransportContext } from './options.js';
export type { SyncState } from './replication/sync-events.js';
export type { SyncProgress } from './replication/first-page.js';
export type {
  Conversation,
  ConversationFilter,
  ConversationGroup,
  ConversationGroupListeners,
  ConversationGroupResult,
  ConversationGroupService,
  ConversationListeners,
  ConversationOperationResult,
  ConversationOption,
  ConversationResult,
  ConversationService,
  Message,
  MessageListeners,
  MessageListOption,
  MessageService,
  SendMessageParams,
} from './services/index.js';
export type { ConnectionState, Transport } from './transport/transport.js';
export { InMemoryTransport, type InMemoryTransportOptions } from './transport/in-memory.js';
export { SocketIoTransport, type SocketIoTransportOptions } from './transport/socket-io.js';
export type { TokenProvider, TokenRetryOptions } from './transport/token-source.js';
export {
  ConvSyncError,
  ConversationType,
  ErrorCode,
  conversationId,
  parseConversationId,
  type ConversationIdUtil,
  type ParsedConversationId,
} from '@convsync/protocol';
