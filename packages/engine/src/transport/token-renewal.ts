/**
 * Renewing the token of an open session. While the transport is online, a timer fires ahead of the
 * token's expiry (the server tells it in `session:info`; its clock, turned into the device's with
 * the measured offset), asks the token source for a fresh token and sends it with `session:renew`
 * on the same connection: nothing is torn down, so the sync never leaves `synced` for it.
 *
 * A renewal that fails (the provider, the request) is reported and tried again while the token
 * still lives. If it never succeeds, the server closes the session at the expiry and the
 * transport reconnects, asking the provider again — renewal is an optimisation of that path, never
 * the only way a token is replaced.
 */
import type { Subscription } from 'rxjs';
import { ConvSyncError } from '@convsync/protocol';
import { TokenWaitCancelled, type TokenSource } from './token-source.js';
import type { Transport } from './transport.js';

/** Renew when this share of the token's life is left (a 2 s token: at 1.5 s; a week: 5 min before). */
const LEAD_SHARE = 0.25;
const MAX_LEAD_MS = 5 * 60_000;
/** setTimeout's ceiling (~24.8 days): longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TokenRenewalOptions {
  transport: Transport;
  tokens: TokenSource;
  /** The device clock. */
  now: () => number;
  report: (error: unknown) => void;
}

/** Keeps the open session's token fresh; unsubscribing stops it. Does nothing for a fixed string. */
export function startTokenRenewal(options: TokenRenewalOptions): Subscription {
  const { transport, tokens, now, report } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumps on every state change: a renewal of an older session stops where it is. */
  let session = 0;

  const schedule = (expiresAt: number, current: number): void => {
    clearTimeout(timer);
    const left = expiresAt - now();
    if (left <= 0) return;
    const renewAt = expiresAt - Math.min(MAX_LEAD_MS, left * LEAD_SHARE);
    const arm = (): void => {
      const wait = renewAt - now();
      timer = setTimeout(() => {
        if (session !== current) return;
        if (renewAt - now() > 5) arm();
        else void renew(expiresAt, current);
      }, Math.min(Math.max(0, wait), MAX_TIMER_MS));
    };
    arm();
  };

  const renew = async (expiresAt: number, current: number): Promise<void> => {
    const wanted = (): boolean => session === current && expiresAt > now();
    try {
      const token = await tokens.get(wanted);
      if (!wanted()) return;
      const answer = await transport.request('session:renew', { token });
      if (session !== current) return;
      schedule(answer.tokenExpiresAt - offsetMs, current);
    } catch (error) {
      if (error instanceof TokenWaitCancelled || session !== current) return;
      report(ConvSyncError.from(error));
      // Try again while the token lives; after that the reconnect asks the provider.
      const left = expiresAt - now();
      if (left > 0) {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (wanted()) void renew(expiresAt, current);
        }, Math.max(10, Math.min(1000, left / 4)));
      }
    }
  };

  let offsetMs = 0;
  const subscription = transport.state$.subscribe((state) => {
    session++;
    clearTimeout(timer);
    if (state.status !== 'online' || !tokens.renewable) return;
    offsetMs = state.clockOffsetMs;
    schedule(state.session.tokenExpiresAt - offsetMs, session);
  });
  subscription.add(() => {
    session++;
    clearTimeout(timer);
  });
  return subscription;
}
