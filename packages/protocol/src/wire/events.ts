/**
 * The socket.io event maps, derived from the wire schemas so neither side re-declares the wire.
 * Both sides still parse every payload they receive: the types describe the honest peer only.
 */
import type { Ack } from './answer.js';
import type { MessageListRequest, MessageListResponse } from './message-list.js';
import type { SendMessageRequest, SendMessageResponse } from './message-send.js';
import type { PullJsonResponse, PullRequest, PullResponse } from './pull.js';
import type { PushRequest, PushResponse } from './push.js';
import type { SessionInfoRequest, SessionInfoResponse } from './session-info.js';
import type { SessionRenewRequest, SessionRenewResponse } from './session-renew.js';
import type { SessionMove } from './session-move.js';
import type { StreamEvent } from './stream.js';

export const ClientEvent = {
  SESSION_INFO: 'session:info',
  PULL: 'sync:pull',
  PUSH: 'sync:push',
  MESSAGE_SEND: 'message:send',
  MESSAGE_LIST: 'message:list',
  SESSION_RENEW: 'session:renew',
} as const;
export type ClientEvent = (typeof ClientEvent)[keyof typeof ClientEvent];

export const ServerEvent = {
  STREAM: 'sync:stream',
  SESSION_MOVE: 'session:move',
} as const;

export interface ClientToServerEvents {
  'session:info': (request: SessionInfoRequest, ack: Ack<SessionInfoResponse>) => void;
  /** The answer's form follows the request's `format` (objects when absent). */
  'sync:pull': (request: PullRequest, ack: Ack<PullResponse | PullJsonResponse>) => void;
  'sync:push': (request: PushRequest, ack: Ack<PushResponse>) => void;
  'message:send': (request: SendMessageRequest, ack: Ack<SendMessageResponse>) => void;
  'message:list': (request: MessageListRequest, ack: Ack<MessageListResponse>) => void;
  'session:renew': (request: SessionRenewRequest, ack: Ack<SessionRenewResponse>) => void;
}

export interface ServerToClientEvents {
  'sync:stream': (event: StreamEvent) => void;
  'session:move': (move: SessionMove) => void;
}

/** What a refused handshake carries in `connect_error.data`. */
export interface ConnectErrorData {
  code: number;
  desc: string;
  /** A 416 refusal's `{retryAfterMs}`. */
  detail?: Record<string, unknown>;
}
