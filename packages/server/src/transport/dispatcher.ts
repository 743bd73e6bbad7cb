/**
 * The handlers of every client event, shared by socket.io sockets and in-process sessions: parse
 * the payload with the protocol's schema, call the domain, answer `{ok: true, …}` or
 * `{ok: false, error}`. A handler never throws: anything unexpected becomes a 500 answer and a log
 * line, never a crashed process.
 */
import {
  ClientEvent,
  ConvSyncError,
  ErrorCode,
  PROTOCOL_VERSION,
  invalidParameter,
  messageListRequestSchema,
  parseConversationId,
  parseOrThrow,
  pullRequestSchema,
  pushRequestSchema,
  sendMessageRequestSchema,
  sessionInfoRequestSchema,
  sessionRenewRequestSchema,
  type Answer,
} from '@convsync/protocol';
import type { DomainContext } from '../context.js';
import type { Logger } from '../logger.js';
import { listMessages } from '../messages/history.js';
import { ingestMessage } from '../messages/ingest.js';
import type { Metrics } from '../metrics.js';
import { pull, type PullOptions } from '../sync/pull.js';
import { push } from '../sync/push.js';

/** One authenticated session (a socket or an in-process endpoint). */
export interface Session {
  accountId: string;
  deviceId: string | undefined;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
  /** Draws one request from the session's rate limits (docs/SCALING.md); throws 416 when over. */
  admit: () => Promise<void>;
  /** This session's lines (bound to its account and device); absent: the dispatcher's logger. */
  logger?: Logger;
  /** Swaps the session's token (`session:renew`); resolves the new expiry. See `session-renew.ts`. */
  renew?: (token: string) => Promise<number>;
}

export interface DispatcherOptions {
  ctx: DomainContext;
  metrics: Metrics;
  logger: Logger;
  pull?: PullOptions;
}

export type Dispatch = (session: Session, event: string, payload: unknown) => Promise<Answer<object>>;

type Handler = (session: Session, payload: unknown) => Promise<object>;

export function createDispatcher(options: DispatcherOptions): Dispatch {
  const { ctx, metrics, logger } = options;
  const handlers: Record<string, Handler> = {
    [ClientEvent.SESSION_INFO]: async (session, payload) => {
      parseOrThrow(sessionInfoRequestSchema, payload ?? {}, 'session:info request');
      return {
        accountId: session.accountId,
        serverTime: ctx.now(),
        protocolVersion: PROTOCOL_VERSION,
        tokenExpiresAt: session.expiresAt,
      };
    },
    [ClientEvent.SESSION_RENEW]: async (session, payload) => {
      const request = parseOrThrow(sessionRenewRequestSchema, payload, 'session:renew request');
      if (session.renew === undefined) throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'this session cannot renew its token');
      return { tokenExpiresAt: await session.renew(request.token) };
    },
    [ClientEvent.PULL]: (session, payload) => metrics.time(metrics.pullSeconds, async () => {
      const request = parseOrThrow(pullRequestSchema, payload, 'sync:pull request');
      metrics.pulls.inc();
      return pull(ctx.store, session.accountId, request, options.pull);
    }),
    [ClientEvent.PUSH]: (session, payload) => metrics.time(metrics.pushSeconds, async () => {
      const request = parseOrThrow(pushRequestSchema, payload, 'sync:push request');
      metrics.pushes.inc();
      return push(ctx, session.accountId, request);
    }),
    [ClientEvent.MESSAGE_SEND]: async (session, payload) => {
      const request = parseOrThrow(sendMessageRequestSchema, payload, 'message:send request');
      const message = await metrics.time(metrics.messageSeconds.labels('device'), () => ingestMessage(ctx, {
        senderId: session.accountId,
        conversation: parseConversationId(request.conversationId),
        clientMessageId: request.clientMessageId,
        text: request.text,
        ...(request.messageType === undefined ? {} : { messageType: request.messageType }),
        ...(request.serverExtension === undefined ? {} : { serverExtension: request.serverExtension }),
      }));
      metrics.messages.inc();
      return { message };
    },
    [ClientEvent.MESSAGE_LIST]: async (session, payload) => {
      const request = parseOrThrow(messageListRequestSchema, payload, 'message:list request');
      return { messages: await listMessages(ctx, session.accountId, request) };
    },
  };

  return async (session, event, payload) => {
    try {
      await session.admit();
      // The expiry timer closes the session, but a request may arrive before it fires.
      if (event !== ClientEvent.SESSION_RENEW && session.expiresAt <= ctx.now()) {
        throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the token expired: renew it (session:renew) or reconnect');
      }
      const handler = Object.hasOwn(handlers, event) ? handlers[event] : undefined;
      if (handler === undefined) throw invalidParameter('unknown event', { event: String(event).slice(0, 100) });
      return { ok: true, ...(await handler(session, payload)) };
    } catch (thrown) {
      const error = ConvSyncError.from(thrown);
      metrics.error(error.code);
      const log = session.logger ?? logger;
      if (error.code === ErrorCode.INTERNAL) {
        log.log('error', 'request failed', {
          event: String(event).slice(0, 100),
          accountId: session.accountId,
          error: thrown instanceof Error ? thrown.stack ?? thrown.message : String(thrown),
        });
        return { ok: false, error: { code: ErrorCode.INTERNAL, desc: 'internal server error' } };
      }
      log.log('debug', 'request refused', { event: String(event).slice(0, 100), accountId: session.accountId, code: error.code });
      return { ok: false, error: error.toWire() };
    }
  };
}
