/** The `auth` option from command-line flags and `CONVSYNC_*` variables (flags win). */
import type { AuthOptions } from './options.js';

export interface AuthFlags {
  jwks?: string | undefined;
  issuer?: string[] | undefined;
  audience?: string[] | undefined;
  'account-claim'?: string | undefined;
}

function list(flag: string[] | undefined, variable: string | undefined): string[] | undefined {
  const values = flag ?? variable?.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return values === undefined || values.length === 0 ? undefined : values;
}

/** Undefined when nothing about auth was given (the server's defaults then apply). */
export function authFromFlags(flags: AuthFlags, env: Record<string, string | undefined>): AuthOptions | undefined {
  const jwks = flags.jwks ?? env['CONVSYNC_JWKS'];
  const issuer = list(flags.issuer, env['CONVSYNC_ISSUER']);
  const audience = list(flags.audience, env['CONVSYNC_AUDIENCE']);
  const accountClaim = flags['account-claim'] ?? env['CONVSYNC_ACCOUNT_CLAIM'];
  const auth: AuthOptions = {
    ...(jwks === undefined ? {} : { jwks }),
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    ...(accountClaim === undefined ? {} : { accountClaim }),
  };
  return Object.keys(auth).length === 0 ? undefined : auth;
}
