/**
 * @convsync/protocol — the contract shared by the engine and the server: wire messages (one file
 * each, schema first), document schemas, checkpoints, ids, errors, the hybrid logical clock and the
 * merge rules. It imports neither rxdb nor socket.io.
 */
export { PROTOCOL_VERSION } from './version.js';
export { ConvSyncError, ErrorCode, invalidParameter, isErrorCode, type WireError } from './errors.js';
export { Limits, utf8Length } from './limits.js';
export {
  ConversationType,
  assertValidId,
  conversationId,
  conversationIdUtil,
  isConversationType,
  isValidId,
  parseConversationId,
  tryParseConversationId,
  type ConversationIdUtil,
  type ParsedConversationId,
} from './ids.js';
export {
  HybridLogicalClock,
  NO_STAMP,
  compareStamps,
  formatStamp,
  isDeviceId,
  isStamp,
  maxStamp,
  parseStamp,
  type HlcOptions,
  type Stamp,
  type StampParts,
} from './hlc.js';
export { parseOrThrow } from './parse.js';

export { Collection, checkpointSchema, collectionSchema, type Checkpoint } from './documents/collections.js';
export {
  conversationClockSchema,
  conversationDocSchema,
  groupRegisterSchema,
  type ConversationClock,
  type ConversationDoc,
  type GroupRegister,
} from './documents/conversation.js';
export { conversationGroupDocSchema, groupClockSchema, type ConversationGroupDoc, type GroupClock } from './documents/group.js';
export {
  LastMessageState,
  MessageType,
  SendingState,
  compareLastMessages,
  lastMessageSchema,
  lastMessageTime,
  messageReferSchema,
  messageSchema,
  previewText,
  type LastMessage,
  type Message,
  type MessageRefer,
} from './documents/message.js';
export { conversationIdSchema, idSchema, serverExtensionSchema, stampSchema, timeSchema } from './documents/fields.js';

export {
  emptyConversation,
  isConversationVisible,
  latestEditStamp,
  mergeConversation,
  normalizeConversation,
  serverFieldsOf,
  type NewConversationOptions,
} from './merge/conversation.js';
export { mergeConversationGroup } from './merge/group.js';
export { MAX_RANK, conversationRank, rankIsPinned } from './merge/rank.js';
export { jsonEqual } from './merge/equal.js';

export { answerSchema, wireErrorSchema, type Ack, type Answer } from './wire/answer.js';
export { handshakeAuthSchema, type HandshakeAuth } from './wire/handshake.js';
export { sessionInfoAnswerSchema, sessionInfoRequestSchema, type SessionInfoRequest, type SessionInfoResponse } from './wire/session-info.js';
export { documentId, documentSchemas, primaryKeys, type AnyDoc, type CollectionDocs } from './wire/documents.js';
export {
  MAX_FRAME_BYTES,
  PullFormat,
  packDocuments,
  pullAnswerSchema,
  pullRequestSchema,
  unpackPullAnswer,
  type PullAnswer,
  type PullJsonResponse,
  type PullRequest,
  type PullResponse,
} from './wire/pull.js';
export { PullOrder, unreadCellSchema, unreadOfCells, unreadTotalsSchema, type UnreadCell, type UnreadCellFilter, type UnreadTotals } from './wire/first-page.js';
export { pushAnswerSchema, pushRequestSchema, type PushAnswer, type PushRequest, type PushResponse } from './wire/push.js';
export { streamEventSchema, type StreamEvent } from './wire/stream.js';
export { sendMessageAnswerSchema, sendMessageRequestSchema, type SendMessageRequest, type SendMessageResponse } from './wire/message-send.js';
export { messageListAnswerSchema, messageListRequestSchema, type MessageListRequest, type MessageListResponse } from './wire/message-list.js';
export {
  ClientEvent,
  ServerEvent,
  type ClientToServerEvents,
  type ConnectErrorData,
  type ServerToClientEvents,
} from './wire/events.js';
export type { SessionEndpoint } from './wire/endpoint.js';
