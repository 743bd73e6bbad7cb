/**
 * The options of `createConversationEngine` (docs/API.md) and their validation: everything an app
 * passes is checked here, before anything opens, and refused with 191004 (a token without an
 * account: 302).
 */
import { ConvSyncError, ErrorCode, invalidParameter, isDeviceId, isValidId } from '@convsync/protocol';
import type { RxStorage } from 'rxdb';
import { parseTokenRetry, type TokenProvider, type TokenRetryOptions } from './transport/token-source.js';
import type { Transport } from './transport/transport.js';

/** What a custom transport factory gets (tests use an in-memory transport over the real server). */
export interface TransportContext {
  accountId: string;
  deviceId: string;
  /** The token as given, or the provider's first answer ('' when a provider was not asked yet). */
  token: string;
  /** A token for a new session: the string, or the provider's fresh answer (retried, see `tokenRetry`). */
  getToken: () => Promise<string>;
  /** The device clock (the `now` option). */
  now: () => number;
}

export interface ConversationEngineOptions {
  /** The socket.io server, e.g. 'http://127.0.0.1:3000'. */
  url?: string;
  /** Several server URLs (a cluster): on connection failure or loss the engine tries the next. */
  urls?: readonly string[];
  /**
   * The auth token of one account (a JWT whose `sub` is the account), or a provider that fetches a
   * fresh one: called for every (re)connect, ahead of the current token's expiry, and once more
   * after the server refuses a token (302).
   */
  token: string | TokenProvider;
  /** How a failing token provider is retried before the engine gives up with 302. */
  tokenRetry?: TokenRetryOptions;
  /** Default: 'dexie' in browsers, 'memory' in Node. */
  // RxDB's storage type is generic over its internals, which the engine never looks at.
  storage?: 'dexie' | 'memory' | RxStorage<unknown, unknown>;
  /** For 'dexie' outside a browser (fake-indexeddb's `indexedDB`). */
  indexedDB?: unknown;
  /** For 'dexie' outside a browser (fake-indexeddb's `IDBKeyRange`). */
  IDBKeyRange?: unknown;
  /** Default: derived from the account and `deviceId`; one replica per device. */
  databaseName?: string;
  /** Stable per device; generated and stored in the replica when absent. */
  deviceId?: string;
  /** The device clock (ms since the epoch); injected for tests and skew simulation. */
  now?: () => number;
  /** The account, when the token is not a JWT naming it in `sub`. */
  accountId?: string;
  /** Replaces the socket.io transport (tests: an in-memory transport over `connectInProcess`). */
  transport?: (context: TransportContext) => Transport;
  /** Start talking to the server at once (default true); false: call `connect()` yourself. */
  autoConnect?: boolean;
  /** Request timeout of the socket.io transport (ms, default 10 s). */
  requestTimeoutMs?: number;
  /**
   * Several engines (the tabs of one browser profile) share this replica: one of them, elected,
   * talks to the server for all (docs/ARCHITECTURE.md "Tabs"). Default: true for Dexie storage in
   * a browser, false elsewhere (Node: one process, one engine).
   */
  multiInstance?: boolean;
}

export interface ParsedOptions {
  urls: string[];
  token: string | TokenProvider;
  tokenRetry: TokenRetryOptions;
  /** Absent only with a provider: the engine learns it from the provider's first token. */
  accountId: string | undefined;
  storage: 'dexie' | 'memory' | RxStorage<unknown, unknown>;
  indexedDB: unknown;
  IDBKeyRange: unknown;
  databaseName: string | undefined;
  deviceId: string | undefined;
  now: () => number;
  transport: ((context: TransportContext) => Transport) | undefined;
  autoConnect: boolean;
  requestTimeoutMs: number | undefined;
  multiInstance: boolean;
}

function base64UrlDecode(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = globalThis.atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * The account a token names, read without verifying it (the server verifies; the engine only
 * needs the name of its replica before the network answers).
 */
export function accountOfToken(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(base64UrlDecode(payload)) as { sub?: unknown };
    return isValidId(claims.sub) ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

function isUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

/** A browser page or worker (not Node, even with an IndexedDB polyfill installed globally). */
function inBrowser(): boolean {
  const scope = globalThis as { document?: unknown; importScripts?: unknown };
  return typeof scope.document === 'object' || typeof scope.importScripts === 'function';
}

function hasIndexedDb(): boolean {
  return typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object';
}

export function parseOptions(input: unknown): ParsedOptions {
  if (typeof input !== 'object' || input === null) throw invalidParameter('options must be an object');
  const options = input as Record<string, unknown>;
  const token = options['token'];
  if (typeof token !== 'function' && (typeof token !== 'string' || token.length === 0)) {
    throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'missing token');
  }
  const tokenRetry = parseTokenRetry(options['tokenRetry']);
  const urls: string[] = [];
  if (options['url'] !== undefined) {
    if (!isUrl(options['url'])) throw invalidParameter('url must be an http(s) or ws(s) URL');
    urls.push(options['url']);
  }
  if (options['urls'] !== undefined) {
    const list = options['urls'];
    if (!Array.isArray(list) || !list.every(isUrl)) throw invalidParameter('urls must be a list of http(s) or ws(s) URLs');
    for (const url of list) if (!urls.includes(url)) urls.push(url);
  }
  const transport = options['transport'];
  if (transport !== undefined && typeof transport !== 'function') throw invalidParameter('transport must be a factory function');
  if (urls.length === 0 && transport === undefined) throw invalidParameter('url (or urls) is required');

  const named = typeof token === 'string' ? accountOfToken(token) : undefined;
  if (options['accountId'] !== undefined && named !== undefined && options['accountId'] !== named) {
    throw invalidParameter('accountId differs from the account the token names');
  }
  const accountId = options['accountId'] ?? named;
  if (accountId === undefined && typeof token === 'string') throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'the token names no account (no JWT `sub`)');
  if (accountId !== undefined && !isValidId(accountId)) throw invalidParameter('accountId is malformed');

  const deviceId = options['deviceId'];
  if (deviceId !== undefined && !isDeviceId(deviceId)) throw invalidParameter('deviceId must be 1–64 characters of [A-Za-z0-9_.-]');
  const databaseName = options['databaseName'];
  if (databaseName !== undefined && (typeof databaseName !== 'string' || !/^[a-z][a-z0-9_$()+/-]{0,200}$/.test(databaseName))) {
    throw invalidParameter('databaseName must start with a-z and use only a-z 0-9 _$()+-/');
  }
  const now = options['now'];
  if (now !== undefined && typeof now !== 'function') throw invalidParameter('now must be a function');
  const autoConnect = options['autoConnect'];
  if (autoConnect !== undefined && typeof autoConnect !== 'boolean') throw invalidParameter('autoConnect must be a boolean');
  const timeout = options['requestTimeoutMs'];
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1)) {
    throw invalidParameter('requestTimeoutMs must be a positive integer');
  }

  const indexedDB = options['indexedDB'];
  const keyRange = options['IDBKeyRange'];
  const storage = options['storage'] ?? (hasIndexedDb() || indexedDB !== undefined ? 'dexie' : 'memory');
  if (storage !== 'dexie' && storage !== 'memory' &&
    (typeof storage !== 'object' || storage === null || typeof (storage as { createStorageInstance?: unknown }).createStorageInstance !== 'function')) {
    throw invalidParameter("storage must be 'dexie', 'memory' or an RxStorage");
  }
  if (storage === 'dexie' && indexedDB === undefined && !hasIndexedDb()) {
    throw invalidParameter("storage 'dexie' needs `indexedDB` and `IDBKeyRange` outside a browser (e.g. fake-indexeddb)");
  }
  if ((indexedDB === undefined) !== (keyRange === undefined)) throw invalidParameter('indexedDB and IDBKeyRange go together');
  const multiInstance = options['multiInstance'];
  if (multiInstance !== undefined && typeof multiInstance !== 'boolean') throw invalidParameter('multiInstance must be a boolean');

  return {
    urls,
    token: token as string | TokenProvider,
    tokenRetry,
    accountId,
    storage: storage as ParsedOptions['storage'],
    indexedDB,
    IDBKeyRange: keyRange,
    databaseName: databaseName,
    deviceId: deviceId,
    now: (now as (() => number) | undefined) ?? Date.now,
    transport: transport as ParsedOptions['transport'],
    autoConnect: (autoConnect) ?? true,
    requestTimeoutMs: timeout,
    multiInstance: multiInstance ?? (storage === 'dexie' && indexedDB === undefined && inBrowser()),
  };
}
