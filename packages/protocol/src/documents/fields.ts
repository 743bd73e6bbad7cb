/** Field schemas shared by the document and wire schemas. */
import * as v from 'valibot';
import { isConversationType, isValidId, tryParseConversationId, type ConversationType } from '../ids.js';
import { isStamp, type Stamp } from '../hlc.js';
import { Limits, utf8Length } from '../limits.js';

export const idSchema = v.pipe(v.string(), v.check((id: string) => isValidId(id), 'malformed id'));
export const conversationIdSchema = v.pipe(
  v.string(),
  v.maxLength(2 * Limits.MAX_ID_LENGTH + 3),
  v.check((id) => tryParseConversationId(id) !== null, 'malformed conversation id'),
);
export const conversationTypeSchema = v.custom<ConversationType>(isConversationType, 'unknown conversation type');
export const stampSchema = v.custom<Stamp>(isStamp, 'malformed clock stamp');
/** Milliseconds since the epoch, or 0 for "never". */
export const timeSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15));
export const countSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
export const serverExtensionSchema = v.pipe(
  v.string(),
  v.check((s) => utf8Length(s) <= Limits.MAX_SERVER_EXTENSION_BYTES,
    `serverExtension is limited to ${Limits.MAX_SERVER_EXTENSION_BYTES} bytes`),
);
export const nameSchema = v.pipe(v.string(), v.maxLength(Limits.MAX_NAME_LENGTH));
export const avatarSchema = v.pipe(v.string(), v.maxLength(Limits.MAX_AVATAR_LENGTH));
