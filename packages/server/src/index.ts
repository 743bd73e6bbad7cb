/**
 * @convsync/server — the socket.io sync server: per-account change log, pull/push/stream
 * replication with the shared merge rules, messages with last message and unread counts, teams,
 * JWT auth, health and metrics.
 */
export { startServer, type ConvSyncServer, type SendMessageInput, type ServerOptions } from './server.js';
export type { TeamInput, UserInput } from './messages/profiles.js';
export type { AuthOptions, IssueTokenOptions, JSONWebKeySet, JsonWebKey } from './auth.js';
export {
  fromPino,
  jsonLogger,
  pinoLogger,
  silentLogger,
  type LogLevel,
  type Logger,
  type PinoCompatibleLogger,
  type PinoLoggerOptions,
} from './logger.js';
export type { CrashFault, CrashPoint, FaultPlan } from './faults.js';
export type { Dependency, ReadinessReport } from './health.js';
export { DEFAULT_LIMITS, parseLimit, type Limit, type LimitsOptions } from './transport/limits.js';
export { DEFAULT_DRAIN_WINDOW_MS, type DrainOptions } from './transport/drain.js';
export type { Store, StoreReader, StoreTx } from './store/store.js';
