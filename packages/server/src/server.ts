/**
 * `startServer`: the composition root. It opens the store, builds the domain context, the token
 * service and the dispatcher, and wires socket.io, in-process sessions and plain HTTP onto one port.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketServer } from 'socket.io';
import {
  ConvSyncError,
  ErrorCode,
  conversationId,
  invalidParameter,
  parseConversationId,
  type ConversationType,
  type Message,
  type SessionEndpoint,
} from '@convsync/protocol';
import { createTokenService, generateSecret, parseAuthOptions, type AuthOptions, type IssueTokenOptions } from './auth.js';
import type { DomainContext } from './context.js';
import { faultInjector, type FaultPlan } from './faults.js';
import { createReadiness, DEFAULT_READINESS_TIMEOUT_MS } from './health.js';
import { pinoLogger, silentLogger, toLogger, type LogLevel, type Logger, type PinoCompatibleLogger } from './logger.js';
import { ingestMessage } from './messages/ingest.js';
import { createTeam, upsertUser, type TeamInput, type UserInput } from './messages/profiles.js';
import { Metrics } from './metrics.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import { observedStore } from './store/observed.js';
import type { Store, StoreObserver } from './store/store.js';
import { createDispatcher } from './transport/dispatcher.js';
import { createHttpHandler } from './transport/http.js';
import { StreamHub } from './transport/hub.js';
import { createDrainer, type DrainOptions } from './transport/drain.js';
import { openRateLimits, type LimitsOptions } from './transport/limits.js';
import { openRedisAdapter, repairAfterOutages, type RedisAdapterHandle } from './transport/redis-adapter.js';
import { attachSockets, openInProcessSession } from './transport/sessions.js';

/** Options of `startServer` (docs/API.md), plus injection points for tests and embedders. */
export interface ServerOptions {
  /** 0 or absent: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * SQLite file path (default ./convsync.sqlite), ':memory:', or a postgres:// URL (migrated on
   * start; `?schema=name` puts the tables in that schema).
   */
  database?: string;
  /** Enables the socket.io Redis adapter, so several processes share the account rooms. */
  redisUrl?: string;
  /** Prefix of the Redis pub/sub channels (default `convsync`); processes of one cluster share it. */
  redisChannelPrefix?: string;
  /** Token signing secret; a random one is generated when absent (tokens then die with the process). */
  secret?: string;
  /**
   * Which tokens are accepted: the app's identity provider (`jwks`, `issuer`, `audience`,
   * `accountClaim`) next to HS256 tokens of `secret`. See `auth/options.ts`.
   */
  auth?: AuthOptions;
  /** Server clock in ms (injected for deterministic tests). */
  now?: () => number;
  /**
   * Structured logs: this package's `Logger` or a pino logger (anything pino-shaped). Silent by
   * default; see `logLevel`.
   */
  logger?: Logger | PinoCompatibleLogger;
  /** Without `logger`: JSON lines (pino) at or above this level on stderr. Absent: silent. */
  logLevel?: LogLevel | 'silent';
  /** How long each `/readyz` probe (store query, Redis ping) may take (default 1000 ms). */
  readinessTimeoutMs?: number;
  /**
   * TEST-ONLY: crash points (`faults.ts`) that SIGKILL the process at a chosen request. Never set
   * it in production; the command line has no way to.
   */
  faults?: FaultPlan;
  /** Browser origins allowed to connect (absent: all, for development). */
  allowedOrigins?: readonly string[];
  /**
   * Rate limits per account and per client address, on handshakes and events; shared through
   * Redis when `redisUrl` is set (docs/SCALING.md "Limits and how to size them").
   */
  limits?: LimitsOptions;
  /** Enables `POST /dev/token {accountId}` (for the demo's sign-in). Off by default. */
  dev?: boolean;
  /** Message server id source (default: random UUIDs). */
  newMessageId?: () => string;
  /** Byte budget of one pull page (default the protocol's MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
}

export interface SendMessageInput {
  from: string;
  conversationType: ConversationType;
  targetId: string;
  text: string;
  /** Idempotency key (default: a new id, so every call is a new message). */
  clientMessageId?: string;
}

/** A running server (docs/API.md). */
export interface ConvSyncServer {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  readonly port: number;
  /** A token for that account (HS256 JWT; one week unless `expiresInSeconds`). */
  issueToken(accountId: string, options?: IssueTokenOptions): Promise<string>;
  /** Creates or replaces a team (group chat) and its members. */
  createTeam(team: TeamInput): Promise<void>;
  /** A message sent on behalf of `from`, through the same ingest as a socket's `message:send`. */
  sendMessage(message: SendMessageInput): Promise<Message>;
  /** The profile used for P2P conversation names and avatars. */
  upsertUser(user: UserInput): Promise<void>;
  /** A session without the network: same handlers, validation, rate limit and stream as a socket. */
  connectInProcess(token: string, options?: { deviceId?: string }): Promise<SessionEndpoint>;
  /** Stops accepting, disconnects every session, waits for running transactions, closes the store. */
  close(): Promise<void>;
  /**
   * Restart without a stampede: stops accepting (`/readyz` 503), asks every device to move
   * (`session:move`, spread over `windowMs`), waits for them and the requests in flight, then closes.
   */
  drain(options?: DrainOptions): Promise<void>;
  /** Whether a drain has started. */
  readonly draining: boolean;
}

/** The largest frame a client may send: a push of Limits.MAX_PUSH_BYTES of rows and its envelope. */
const MAX_HTTP_BUFFER_SIZE = 1.5e6;

/** Opens the backend a `database` option names (async: a network backend connects and migrates). */
async function openStore(database: string, observer: StoreObserver): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(database)) return openPostgresStore({ url: database, observer });
  return openSqliteStore({ path: database, observer });
}

function listen(http: HttpServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve(http.address() as AddressInfo);
    });
  });
}

/**
 * Starts a ConvSync server.
 *
 * @example
 * ```ts
 * const server = await startServer({ database: ':memory:' });
 * const token = await server.issueToken('alice');
 * // io(server.url, { auth: { token, protocolVersion: PROTOCOL_VERSION } })
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<ConvSyncServer> {
  const now = options.now ?? Date.now;
  // Before anything opens: a bad `auth` fails the start (191004) and leaves nothing behind.
  const auth = parseAuthOptions(options.auth);
  const logger = options.logger !== undefined ? toLogger(options.logger)
    : options.logLevel !== undefined ? pinoLogger({ level: options.logLevel }) : silentLogger;
  const host = options.host ?? '127.0.0.1';
  const metrics = new Metrics();
  const hub = new StreamHub();
  // Test-only crash injection; inert unless a test passed a plan.
  const faults = faultInjector(options.faults);
  const opened = await openStore(options.database ?? './convsync.sqlite', { onRetry: (reason) => metrics.storeRetries.labels(reason).inc() });
  const store = faults.wrapStore(observedStore(opened, (operation, error) => {
    metrics.storeErrors.labels(operation).inc();
    logger.log('warn', 'store call failed', { operation, error: error instanceof Error ? error.message : String(error) });
  }));
  const ctx: DomainContext = {
    store,
    now,
    newMessageId: options.newMessageId ?? (() => randomUUID()),
    publish: (owner, event) => hub.publish(owner, event),
  };
  const tokens = createTokenService({ secret: options.secret ?? generateSecret(), now, auth });
  const limits = await openRateLimits({
    metrics,
    logger,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    ...(options.redisChannelPrefix === undefined ? {} : { keyPrefix: options.redisChannelPrefix }),
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const untracked = faults.wrapDispatch(createDispatcher({
    ctx,
    metrics,
    logger,
    ...(options.maxFrameBytes === undefined ? {} : { pull: { maxFrameBytes: options.maxFrameBytes } }),
  }));

  let redis: RedisAdapterHandle | undefined;
  const readiness = createReadiness({
    pingStore: () => store.ping(),
    timeoutMs: options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS,
    ...(options.redisUrl === undefined ? {} : { pingRedis: () => redis?.ping() ?? Promise.reject(new Error('redis not connected')) }),
  });
  const http = createServer(createHttpHandler({
    metrics,
    readiness,
    ...(options.dev === true ? { issueDevToken: (accountId: string) => tokens.issue(accountId) } : {}),
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  }));
  const allowed = options.allowedOrigins;
  const io = new SocketServer(http, {
    maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
    cors: { origin: allowed === undefined ? true : [...allowed] },
    // Browsers send Origin; other clients (Node, tests) do not and are not subject to it.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      const accepted = allowed === undefined || origin === undefined || allowed.includes(origin);
      if (!accepted) metrics.handshakesRefused.labels('origin').inc();
      callback(null, accepted);
    },
  });
  const drainer = createDrainer({ io, readiness, metrics, logger });
  const dispatch = drainer.track(untracked);
  const deps = { tokens, dispatch, hub, metrics, logger, limits, now };
  const inProcess = new Set<() => void>();
  try {
    if (options.redisUrl !== undefined) {
      redis = await openRedisAdapter({
        url: options.redisUrl,
        logger,
        onPublishFailed: () => metrics.redisPublishFailures.inc(),
        ...(options.redisChannelPrefix === undefined ? {} : { channelPrefix: options.redisChannelPrefix }),
      });
      io.adapter(redis.adapter);
      // Streams lost while Redis was away: devices are nudged to resync from their checkpoint.
      repairAfterOutages({ io, store, redis, logger });
    }
    hub.attach(io, { spansProcesses: redis !== undefined });
    io.use((socket, next) => drainer.gate(socket, next));
    attachSockets(io, deps);
    const address = await listen(http, options.port ?? 0, host);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    logger.log('info', 'server listening', {
      url,
      // A postgres URL may carry a password: log it without.
      database: (options.database ?? './convsync.sqlite').replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'),
      redis: redis === undefined ? false : redis.sharded ? 'sharded' : 'classic',
    });

    let closing: Promise<void> | undefined;
    const server: ConvSyncServer = {
      url,
      port: address.port,
      issueToken: (accountId, issueOptions) => tokens.issue(accountId, issueOptions),
      createTeam: (team) => createTeam(ctx, team),
      async sendMessage(input) {
        const id = conversationId(input.from, input.conversationType, input.targetId);
        if (typeof input.text !== 'string') throw invalidParameter('text must be a string');
        const message = await metrics.time(metrics.messageSeconds.labels('backend'), () => ingestMessage(ctx, {
          senderId: input.from,
          conversation: parseConversationId(id),
          clientMessageId: input.clientMessageId ?? randomUUID(),
          text: input.text,
        }));
        metrics.messages.inc();
        return message;
      },
      async upsertUser(user) {
        await upsertUser(ctx, user);
      },
      async connectInProcess(token, sessionOptions = {}) {
        if (closing !== undefined || drainer.draining) throw new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, 'the server is closing');
        return openInProcessSession(deps, token, {
          ...sessionOptions,
          onClose: (close) => {
            inProcess.add(close);
            return () => inProcess.delete(close);
          },
        });
      },
      close() {
        closing ??= (async () => {
          readiness.markDraining();
          logger.log('info', 'server closing', { url });
          for (const close of [...inProcess]) close();
          await new Promise<void>((resolve) => {
            void io.close(() => resolve());
            http.closeAllConnections();
          });
          await store.close();
          await redis?.close();
          await limits.close();
          logger.log('info', 'server closed', { url });
        })();
        return closing;
      },
      get draining() {
        return drainer.draining;
      },
      async drain(drainOptions) {
        if (closing === undefined) await drainer.drain(drainOptions);
        await server.close();
      },
    };
    return server;
  } catch (error) {
    await io.close();
    await store.close();
    await redis?.close();
    await limits.close();
    throw error;
  }
}
