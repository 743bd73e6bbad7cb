#!/usr/bin/env node
/**
 * `convsync-server`: starts the sync server from flags or CONVSYNC_* environment variables, logs
 * JSON lines to stderr, and shuts down gracefully on SIGTERM/SIGINT: it drains (stops accepting,
 * asks its devices to move over `--drain-window`, waits for running transactions) and exits 0.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '@convsync/protocol';
import { LIMIT_FLAGS, LIMITS_HELP, drainWindowFrom, limitsFrom } from './cli-options.js';
import { pinoLogger, type LogLevel } from './logger.js';
import { authFromFlags } from './auth/flags.js';
import { startServer } from './server.js';

const HELP = `convsync-server — the ConvSync sync server

Usage: convsync-server [options]

  --port <n>        port (default 3000; 0 = a free port)          env CONVSYNC_PORT
  --host <addr>     interface (default 127.0.0.1)                  env CONVSYNC_HOST
  --db <path|url>   SQLite file, :memory:, or postgres:// URL       env CONVSYNC_DB
                    (default ./convsync.sqlite; postgres://…?schema=s
                    uses schema s; migrations run on start)
  --redis <url>     Redis URL: enables the socket.io Redis adapter  env CONVSYNC_REDIS
  --redis-prefix <p> Redis channel prefix (default convsync)       env CONVSYNC_REDIS_PREFIX
  --secret <s>      token signing secret (default: random, so       env CONVSYNC_SECRET
                    tokens die with the process)
  --jwks <url>      the app's identity provider: its JWKS URL       env CONVSYNC_JWKS
                    (RS256, ES256, EdDSA keys by kid; HS256 tokens
                    of --secret stay accepted)
  --issuer <iss>    accepted token issuer (repeatable)              env CONVSYNC_ISSUER (comma-separated)
  --audience <aud>  accepted token audience (repeatable)            env CONVSYNC_AUDIENCE (comma-separated)
  --account-claim <c> the claim naming the account (default sub)   env CONVSYNC_ACCOUNT_CLAIM
  --origin <o>      allowed browser origin (repeatable; default all) env CONVSYNC_ORIGINS (comma-separated)
  --dev             enable POST /dev/token {accountId} for demos    env CONVSYNC_DEV=1
  --log-level <l>   debug | info | warn | error | silent            env CONVSYNC_LOG_LEVEL
                    (default info; JSON lines on stderr)
  --version, -v     print the version and the wire protocol version
  --help, -h        this text
${LIMITS_HELP}
HTTP on the same port: GET /healthz (liveness), GET /readyz (readiness: the database
and Redis answer; 503 names what is down), GET /metrics (Prometheus).
Tokens for development: start with --dev and POST /dev/token, e.g.
  curl -s -XPOST localhost:3000/dev/token -H 'content-type: application/json' -d '{"accountId":"alice"}'
`;

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The package's own version: src/cli.ts and dist/cli.js both sit one level below package.json. */
function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      secret: { type: 'string' },
      origin: { type: 'string', multiple: true },
      jwks: { type: 'string' },
      issuer: { type: 'string', multiple: true },
      audience: { type: 'string', multiple: true },
      'account-claim': { type: 'string' },
      dev: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      ...LIMIT_FLAGS,
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version === true) {
    process.stdout.write(`convsync-server ${packageVersion()} (wire protocol ${PROTOCOL_VERSION})\n`);
    return;
  }
  const env = process.env;
  const portText = values.port ?? env.CONVSYNC_PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port: ${portText}`);
  const level = values['log-level'] ?? env.CONVSYNC_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) throw new Error(`invalid --log-level: ${level}`);
  const logger = pinoLogger({ level: level as LogLevel | 'silent' });
  const origins = values.origin ?? env.CONVSYNC_ORIGINS?.split(',').map((o) => o.trim()).filter((o) => o !== '');
  const redisUrl = values.redis ?? env.CONVSYNC_REDIS;
  const redisChannelPrefix = values['redis-prefix'] ?? env.CONVSYNC_REDIS_PREFIX;
  const secret = values.secret ?? env.CONVSYNC_SECRET;
  const dev = values.dev === true || env.CONVSYNC_DEV === '1';
  const limits = limitsFrom(values, env);
  const drainWindowMs = drainWindowFrom(values, env);
  if (secret === undefined) logger.log('warn', 'no --secret given: using a random one, tokens will not survive a restart');

  const auth = authFromFlags(values, env);

  const server = await startServer({
    port,
    host: values.host ?? env.CONVSYNC_HOST ?? '127.0.0.1',
    database: values.db ?? env.CONVSYNC_DB ?? './convsync.sqlite',
    logger,
    dev,
    limits,
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(redisChannelPrefix === undefined ? {} : { redisChannelPrefix }),
    ...(secret === undefined ? {} : { secret }),
    ...(auth === undefined ? {} : { auth }),
    ...(origins === undefined || origins.length === 0 ? {} : { allowedOrigins: origins }),
  });
  if (dev) logger.log('info', 'dev tokens: POST /dev/token {"accountId": "..."}', { url: `${server.url}/dev/token` });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'shutting down', { signal });
    // SIGINT is a developer's Ctrl-C: move everyone at once rather than wait out the window.
    server.drain({ windowMs: signal === 'SIGTERM' ? drainWindowMs : 0 }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.log('error', 'shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'failed to start', error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exit(1);
});
