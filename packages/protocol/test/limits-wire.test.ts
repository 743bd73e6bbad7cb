import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { ConvSyncError, ErrorCode, MAX_RECONNECT_IN_MS, MAX_RETRY_AFTER_MS, retryAfterMs, sessionMoveSchema } from '../src/index.js';

describe('limit and drain wire messages', () => {
  it('a 416 retry hint is read from the error detail, capped, and absent when malformed', () => {
    const refused = new ConvSyncError(ErrorCode.RATE_LIMITED, 'limited', { detail: { scope: 'account', retryAfterMs: 750 } });
    expect(retryAfterMs(ConvSyncError.fromWire(refused.toWire()).detail)).toBe(750);
    expect(retryAfterMs({ retryAfterMs: 10 * MAX_RETRY_AFTER_MS })).toBe(MAX_RETRY_AFTER_MS);
    for (const detail of [undefined, {}, { retryAfterMs: -1 }, { retryAfterMs: 1.5 }, { retryAfterMs: '100' }]) {
      expect(retryAfterMs(detail)).toBeUndefined();
    }
  });

  it('session:move accepts whole delays from 0 to its maximum and nothing else', () => {
    expect(v.parse(sessionMoveSchema, { reconnectInMs: 0 })).toEqual({ reconnectInMs: 0 });
    expect(v.parse(sessionMoveSchema, { reconnectInMs: MAX_RECONNECT_IN_MS, extra: 1 })).toEqual({ reconnectInMs: MAX_RECONNECT_IN_MS });
    for (const move of [{}, { reconnectInMs: -1 }, { reconnectInMs: 0.5 }, { reconnectInMs: MAX_RECONNECT_IN_MS + 1 }, null]) {
      expect(v.safeParse(sessionMoveSchema, move).success).toBe(false);
    }
  });
});
