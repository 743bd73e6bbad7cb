/** Every acknowledgement is `{ok: true, ...data}` or `{ok: false, error: {code, desc}}`. */
import * as v from 'valibot';
import type { WireError } from '../errors.js';

export const wireErrorSchema = v.object({
  code: v.pipe(v.number(), v.integer()),
  desc: v.pipe(v.string(), v.maxLength(2000)),
  detail: v.optional(v.record(v.string(), v.unknown())),
});

export type Answer<T extends object> = ({ ok: true } & T) | { ok: false; error: WireError };
export type Ack<T extends object> = (answer: Answer<T>) => void;

/** The schema of an answer whose success carries the entries of `data`. */
export function answerSchema<TEntries extends v.ObjectEntries>(data: TEntries) {
  return v.variant('ok', [
    v.object({ ok: v.literal(true), ...data }),
    v.object({ ok: v.literal(false), error: wireErrorSchema }),
  ]);
}
