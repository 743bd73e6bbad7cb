/**
 * `session:renew`: a fresh token for the open session, sent ahead of the current one's expiry, so a
 * device that stays open never has to reconnect to renew. The server verifies it, checks that it
 * names the session's account, and answers when the new token expires; a refused one (302) leaves
 * the session as it was, ending at the old expiry.
 */
import * as v from 'valibot';
import { timeSchema } from '../documents/fields.js';
import { answerSchema } from './answer.js';

export const sessionRenewRequestSchema = v.object({
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
});
export type SessionRenewRequest = v.InferOutput<typeof sessionRenewRequestSchema>;

export const sessionRenewResponseEntries = {
  /** When the new token expires (ms since the epoch, server clock). */
  tokenExpiresAt: timeSchema,
};
export const sessionRenewAnswerSchema = answerSchema(sessionRenewResponseEntries);
export type SessionRenewResponse = v.InferOutput<v.ObjectSchema<typeof sessionRenewResponseEntries, undefined>>;
