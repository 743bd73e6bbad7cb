/** `session:info`: who the socket is, and the server's clock (the engine's HLC offset). */
import * as v from 'valibot';
import { idSchema, timeSchema } from '../documents/fields.js';
import { answerSchema } from './answer.js';

export const sessionInfoRequestSchema = v.object({});
export type SessionInfoRequest = v.InferOutput<typeof sessionInfoRequestSchema>;

export const sessionInfoResponseEntries = {
  accountId: idSchema,
  serverTime: timeSchema,
  protocolVersion: v.pipe(v.number(), v.integer()),
  /** When the token expires (ms since the epoch): the socket is closed then. */
  tokenExpiresAt: timeSchema,
};
export const sessionInfoAnswerSchema = answerSchema(sessionInfoResponseEntries);
export type SessionInfoResponse = v.InferOutput<v.ObjectSchema<typeof sessionInfoResponseEntries, undefined>>;
