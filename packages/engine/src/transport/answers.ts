/**
 * The answer schema of each client event: every acknowledgement is parsed before anything in the
 * engine sees it (STYLE "Validate at the edge").
 */
import * as v from 'valibot';
import {
  ClientEvent,
  ConvSyncError,
  ErrorCode,
  PROTOCOL_VERSION,
  PullFormat,
  messageListAnswerSchema,
  pullAnswerSchema,
  pushAnswerSchema,
  sendMessageAnswerSchema,
  sessionInfoAnswerSchema,
  sessionRenewAnswerSchema,
  streamEventSchema,
  unpackPullAnswer,
  type StreamEvent,
} from '@convsync/protocol';
import { isPullSuccessFast, isStreamEventFast } from './fast-validate.js';
import type { ClientEventName, RequestOf, ResponseOf } from './transport.js';

const answerSchemas = {
  [ClientEvent.SESSION_INFO]: sessionInfoAnswerSchema,
  [ClientEvent.PULL]: pullAnswerSchema,
  [ClientEvent.PUSH]: pushAnswerSchema,
  [ClientEvent.MESSAGE_SEND]: sendMessageAnswerSchema,
  [ClientEvent.MESSAGE_LIST]: messageListAnswerSchema,
  [ClientEvent.SESSION_RENEW]: sessionRenewAnswerSchema,
} as const satisfies Record<ClientEventName, v.GenericSchema>;

/**
 * The success payload of `answer`, or the server's error as a ConvSyncError. An answer that does
 * not parse is a 500 (a retry may get a good one), never passed on.
 */
export function readAnswer<E extends ClientEventName>(event: E, raw: unknown): ResponseOf<E> {
  const answer = event === ClientEvent.PULL ? unpackPage(raw) : raw;
  if (event === ClientEvent.PULL && isPullSuccessFast(answer)) {
    // Pages are the bulk of a fresh sync: the hand-written check accepts them without copying.
    const { ok: _ok, ...rest } = answer as Record<string, unknown>;
    return rest as ResponseOf<E>;
  }
  const parsed = v.safeParse(answerSchemas[event], answer);
  if (!parsed.success) {
    const first = parsed.issues[0];
    throw new ConvSyncError(ErrorCode.INTERNAL, `malformed ${event} answer from the server`, {
      detail: { path: first === undefined ? '' : (v.getDotPath(first) ?? ''), message: first?.message ?? '' },
    });
  }
  const output = parsed.output as { ok: true } | { ok: false; error: { code: number; desc: string; detail?: Record<string, unknown> } };
  if (!output.ok) throw ConvSyncError.fromWire(output.error);
  const { ok: _ok, ...rest } = output;
  return rest as ResponseOf<E>;
}

/** A pull answer with a `'json'` page's documents parsed (one parse per page). */
function unpackPage(raw: unknown): unknown {
  try {
    return unpackPullAnswer(raw);
  } catch (error) {
    throw new ConvSyncError(ErrorCode.INTERNAL, 'malformed sync:pull answer from the server', {
      detail: { path: 'documentsJson', message: error instanceof Error ? error.message : String(error) },
      cause: error,
    });
  }
}

/**
 * The request as it goes on the wire: pulls ask for `'json'` pages, which the server builds from
 * its stored JSON without parsing it (a server that predates `format` ignores it and sends objects).
 */
export function encodeRequest<E extends ClientEventName>(event: E, payload: RequestOf<E>): RequestOf<E> {
  if (event !== ClientEvent.PULL) return payload;
  return { ...(payload as RequestOf<'sync:pull'>), format: PullFormat.JSON };
}

/** `decodeAnswer` is `readAnswer` under the name the transports use. */
export const decodeAnswer = readAnswer;

/** The error of a call made after `close()`. */
export function closedError(): ConvSyncError {
  return new ConvSyncError(ErrorCode.CLOSED, 'the transport is closed');
}

/** The error of a call that needs the server while the transport is not online. */
export function offlineError(): ConvSyncError {
  return new ConvSyncError(ErrorCode.OFFLINE, 'not connected to the server');
}

/** Refusals that retrying cannot fix: auth (302) and protocol mismatch (192003). */
export function isTerminal(error: unknown): boolean {
  return error instanceof ConvSyncError &&
    (error.code === ErrorCode.AUTH_FAILED || error.code === ErrorCode.PROTOCOL_MISMATCH);
}

/** The handshake's last check: a server that speaks another protocol is refused for good (192003). */
export function checkProtocolVersion(session: { protocolVersion: number }): void {
  if (session.protocolVersion !== PROTOCOL_VERSION) {
    throw new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH, `the server speaks protocol ${session.protocolVersion}, this client ${PROTOCOL_VERSION}`);
  }
}

/**
 * Server clock − device clock, from a `session:info` answer read at `receivedAt` for a request
 * sent at `sentAt` (device times): the server's time then is its `serverTime` plus half the trip.
 */
export function clockOffset(session: { serverTime: number }, sentAt: number, receivedAt: number): number {
  return session.serverTime + Math.max(0, receivedAt - sentAt) / 2 - receivedAt;
}

/** A validated stream event, or null when it does not match the protocol (it is then dropped). */
export function readStreamEvent(raw: unknown): StreamEvent | null {
  if (isStreamEventFast(raw)) return raw as StreamEvent;
  const parsed = v.safeParse(streamEventSchema, raw);
  return parsed.success ? parsed.output : null;
}
