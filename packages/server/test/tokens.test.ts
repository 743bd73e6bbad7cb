import { ErrorCode } from '@convsync/protocol';
import { describe, expect, it } from 'vitest';
import { createTokenService } from '../src/auth.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

/** A token service on a clock the test moves by hand. */
function tokensAt(startMs: number) {
  const clock = { now: startMs };
  return { clock, tokens: createTokenService({ secret: SECRET, now: () => clock.now }) };
}

describe('tokens', () => {
  it('a one-second token issued at the end of a second still lives a full second', async () => {
    const { clock, tokens } = tokensAt(1_700_000_000_999);
    const token = await tokens.issue('alice', { expiresInSeconds: 1 });
    clock.now += 999;
    await expect(tokens.verify(token)).resolves.toMatchObject({ accountId: 'alice' });
  });

  it('a token is refused once its lifetime and the rounding second have passed', async () => {
    const { clock, tokens } = tokensAt(1_700_000_000_250);
    const token = await tokens.issue('alice', { expiresInSeconds: 5 });
    clock.now += 5_000;
    await expect(tokens.verify(token)).resolves.toMatchObject({ accountId: 'alice', expiresAt: 1_700_000_006_000 });
    clock.now = 1_700_000_006_000;
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: ErrorCode.AUTH_FAILED });
  });

  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses to issue a token living ${bad} seconds`, async () => {
      const { tokens } = tokensAt(1_700_000_000_000);
      await expect(tokens.issue('alice', { expiresInSeconds: bad })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
    });
  }
});
