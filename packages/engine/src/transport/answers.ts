/**
 * The answer schema of each client event: every acknowledgement is parsed before anything in the
 * engine sees it (STYLE "Validate at the edge").
 */
import * as v from 'valibot';
import {
  ClientEvent,
  ConvSyncError,
  ErrorCode,
  messageListAnswerSchema,
  pullAnswerSchema,
  pushAnswerSchema,
  sendMessageAnswerSchema,
  sessionInfoAnswerSchema,
} from '@convsync/protocol';
import type { ClientEventName, ResponseOf } from './transport.js';

const answerSchemas = {
  [ClientEvent.SESSION_INFO]: sessionInfoAnswerSchema,
  [ClientEvent.PULL]: pullAnswerSchema,
  [ClientEvent.PUSH]: pushAnswerSchema,
  [ClientEvent.MESSAGE_SEND]: sendMessageAnswerSchema,
  [ClientEvent.MESSAGE_LIST]: messageListAnswerSchema,
} as const satisfies Record<ClientEventName, v.GenericSchema>;

/**
 * The success payload of `answer`, or the server's error as a ConvSyncError. An answer that does
 * not parse is a 500 (a retry may get a good one), never passed on.
 */
export function readAnswer<E extends ClientEventName>(event: E, answer: unknown): ResponseOf<E> {
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

/**
 * Server clock − device clock, from a `session:info` answer read at `receivedAt` for a request
 * sent at `sentAt` (device times): the server's time then is its `serverTime` plus half the trip.
 */
export function clockOffset(session: { serverTime: number }, sentAt: number, receivedAt: number): number {
  return session.serverTime + Math.max(0, receivedAt - sentAt) / 2 - receivedAt;
}
