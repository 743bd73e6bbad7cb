/**
 * `session:renew` on the server: a session swaps its token without reconnecting. The new token
 * must verify and name the session's account (a session never changes account); the session then
 * ends at the new token's expiry instead of the old one's. A refused token leaves the session as
 * it was.
 */
import { ConvSyncError, ErrorCode } from '@convsync/protocol';
import type { TokenService } from '../auth.js';
import type { Session } from './dispatcher.js';

/** setTimeout's ceiling (~24.8 days): longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Ends a session when its token expires, re-armed by each renewal: `rearm()` after `expiresAt`
 * changed, `cancel()` when the session ends.
 */
export function sessionExpiry(session: Session, now: () => number, onExpired: () => void): { rearm(): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const wait = session.expiresAt - now();
    if (wait <= 0) {
      onExpired();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return {
    rearm() {
      clearTimeout(timer);
      arm();
    },
    cancel() {
      clearTimeout(timer);
    },
  };
}

/** The `renew` of a session: verifies `token` for the session's account and moves its expiry. */
export function sessionRenewer(tokens: TokenService, session: Session, onRenewed: () => void): (token: string) => Promise<number> {
  return async (token) => {
    const verified = await tokens.verify(token);
    if (verified.accountId !== session.accountId) {
      throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the renewed token names another account', { detail: { reason: 'account' } });
    }
    session.expiresAt = verified.expiresAt;
    onRenewed();
    return verified.expiresAt;
  };
}
