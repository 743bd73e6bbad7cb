/**
 * The command line's limit and drain options (`--limit-*`, `--trust-proxy`, `--drain-window`) and
 * their CONVSYNC_* environment variables, kept apart from cli.ts so the flags, their help text and
 * their parsing stay in one place.
 */
import { DEFAULT_DRAIN_WINDOW_MS } from './transport/drain.js';
import { DEFAULT_LIMITS, parseLimit, type LimitsOptions } from './transport/limits.js';

/** `parseArgs` option specs of the flags below. */
export const LIMIT_FLAGS = {
  'limit-handshakes-account': { type: 'string' },
  'limit-handshakes-address': { type: 'string' },
  'limit-events-account': { type: 'string' },
  'limit-events-address': { type: 'string' },
  'limit-loopback': { type: 'boolean' },
  'trust-proxy': { type: 'boolean' },
  'drain-window': { type: 'string' },
} as const;

const show = (name: keyof typeof DEFAULT_LIMITS & `${string}Per${string}`): string =>
  `${DEFAULT_LIMITS[name].points}/${DEFAULT_LIMITS[name].durationSeconds}`;

export const LIMITS_HELP = `Rate limits (points/seconds; shared through Redis when --redis is given; see docs/SCALING.md):
  --limit-handshakes-account <p/s>  connects per account (default ${show('handshakesPerAccount')})   env CONVSYNC_LIMIT_HANDSHAKES_ACCOUNT
  --limit-handshakes-address <p/s>  connects per client address (default ${show('handshakesPerAddress')}) env CONVSYNC_LIMIT_HANDSHAKES_ADDRESS
  --limit-events-account <p/s>      requests per account (default ${show('eventsPerAccount')})       env CONVSYNC_LIMIT_EVENTS_ACCOUNT
  --limit-events-address <p/s>      requests per client address (default ${show('eventsPerAddress')}) env CONVSYNC_LIMIT_EVENTS_ADDRESS
  --limit-loopback                  apply per-address limits to 127.0.0.1/::1 too   env CONVSYNC_LIMIT_LOOPBACK=1
  --trust-proxy                     client address = last X-Forwarded-For entry      env CONVSYNC_TRUST_PROXY=1
Shutdown:
  --drain-window <ms>  on SIGTERM, spread the devices' moves over this window  env CONVSYNC_DRAIN_WINDOW
                       (default ${DEFAULT_DRAIN_WINDOW_MS}); then finish in-flight requests and exit 0
`;

type LimitFlagValues = { [K in keyof typeof LIMIT_FLAGS]?: (typeof LIMIT_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };
type Env = Record<string, string | undefined>;

/** The `limits` option of startServer from the flags and the environment (flags win); throws on a malformed one. */
export function limitsFrom(values: LimitFlagValues, env: Env): LimitsOptions {
  const limits: LimitsOptions = {};
  const pairs = [
    ['handshakesPerAccount', 'limit-handshakes-account', 'CONVSYNC_LIMIT_HANDSHAKES_ACCOUNT'],
    ['handshakesPerAddress', 'limit-handshakes-address', 'CONVSYNC_LIMIT_HANDSHAKES_ADDRESS'],
    ['eventsPerAccount', 'limit-events-account', 'CONVSYNC_LIMIT_EVENTS_ACCOUNT'],
    ['eventsPerAddress', 'limit-events-address', 'CONVSYNC_LIMIT_EVENTS_ADDRESS'],
  ] as const;
  for (const [name, flag, variable] of pairs) {
    const text = values[flag] ?? env[variable];
    if (text !== undefined) limits[name] = parseLimit(`--${flag}`, text);
  }
  if (values['limit-loopback'] === true || env.CONVSYNC_LIMIT_LOOPBACK === '1') limits.limitLoopback = true;
  if (values['trust-proxy'] === true || env.CONVSYNC_TRUST_PROXY === '1') limits.trustProxy = true;
  return limits;
}

/** The drain window (ms) from `--drain-window` or CONVSYNC_DRAIN_WINDOW; throws on a malformed one. */
export function drainWindowFrom(values: LimitFlagValues, env: Env): number {
  const text = values['drain-window'] ?? env.CONVSYNC_DRAIN_WINDOW ?? String(DEFAULT_DRAIN_WINDOW_MS);
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 0 || ms > 600_000) throw new Error(`invalid --drain-window: ${text} (whole ms, 0 to 600000)`);
  return ms;
}
