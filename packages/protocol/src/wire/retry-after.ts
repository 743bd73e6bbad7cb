/**
 * The retry hint of a refusal: a 416 (rate limited) answer or handshake refusal carries
 * `detail.retryAfterMs`, the time until the limit that refused has room again.
 */
import * as v from 'valibot';

/** The longest hint a client honours (a larger one is capped, never waited on for hours). */
export const MAX_RETRY_AFTER_MS = 60_000;

export const retryAfterDetailSchema = v.object({
  retryAfterMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

/** `detail.retryAfterMs` of an error's detail, capped at MAX_RETRY_AFTER_MS; undefined when absent or malformed. */
export function retryAfterMs(detail: unknown): number | undefined {
  const parsed = v.safeParse(retryAfterDetailSchema, detail);
  return parsed.success ? Math.min(parsed.output.retryAfterMs, MAX_RETRY_AFTER_MS) : undefined;
}
