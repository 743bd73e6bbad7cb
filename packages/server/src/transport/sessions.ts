/**
 * Opening sessions: the socket.io handshake middleware and connection wiring, and the in-process
 * endpoint (`connectInProcess`). Both authenticate the same way, answer through the same
 * dispatcher, share the rate limit and receive the account's stream; a session ends when its
 * token expires.
 */
import {
  ConvSyncError,
  ErrorCode,
  PROTOCOL_VERSION,
  isDeviceId,
  parseOrThrow,
  handshakeAuthSchema,
  type Answer,
  type ConnectErrorData,
  type SessionEndpoint,
  type StreamEvent,
} from '@convsync/protocol';
import type { Server as SocketServer, Socket } from 'socket.io';
import type { TokenService } from '../auth.js';
import { childLogger, type Logger } from '../logger.js';
import { refusalReason, type Metrics } from '../metrics.js';
import type { Dispatch, Session } from './dispatcher.js';
import { accountRoom, type StreamHub } from './hub.js';
import type { ClientOrigin, RateLimits } from './limits.js';
import { sessionExpiry, sessionRenewer } from './session-renew.js';

export interface SessionDeps {
  tokens: TokenService;
  dispatch: Dispatch;
  hub: StreamHub;
  metrics: Metrics;
  logger: Logger;
  limits: RateLimits;
  now: () => number;
}

function connectError(error: ConvSyncError): Error & { data: ConnectErrorData } {
  return Object.assign(new Error(error.desc), { data: error.toWire() });
}

/** Checks `handshake.auth`: a token is present (302), the protocol version (192003), the token verifies (302). */
async function authenticate(deps: SessionDeps, auth: unknown, origin: ClientOrigin): Promise<Session> {
  const record = typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>) : {};
  if (typeof record.token !== 'string' || record.token.length === 0) {
    throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'missing token');
  }
  if (record.protocolVersion !== PROTOCOL_VERSION) {
    throw new ConvSyncError(ErrorCode.PROTOCOL_MISMATCH,
      `protocol version mismatch: the server speaks ${PROTOCOL_VERSION}, the client ${String(record.protocolVersion)}`);
  }
  const parsed = parseOrThrow(handshakeAuthSchema, auth, 'handshake auth');
  const verified = await deps.tokens.verify(parsed.token);
  const address = deps.limits.clientAddress(origin);
  await deps.limits.admitHandshake(verified.accountId, address);
  return {
    accountId: verified.accountId,
    deviceId: parsed.deviceId,
    expiresAt: verified.expiresAt,
    admit: () => deps.limits.admitEvent(verified.accountId, address),
  };
}

/** Installs the handshake middleware and the per-socket handlers. */
export function attachSockets(io: SocketServer, deps: SessionDeps): void {
  io.use((socket, next) => {
    const handshakeTimer = deps.metrics.handshakeSeconds.startTimer();
    authenticate(deps, socket.handshake.auth, socket.handshake).then(
      (session) => {
        handshakeTimer({ outcome: 'accepted' });
        (socket.data as { session?: Session }).session = session;
        next();
      },
      (thrown: unknown) => {
        const error = ConvSyncError.from(thrown, ErrorCode.AUTH_FAILED);
        handshakeTimer({ outcome: 'refused' });
        deps.metrics.handshakesRefused.labels(refusalReason(error.code)).inc();
        deps.logger.log('info', 'handshake refused', { code: error.code, desc: error.desc, address: socket.handshake.address });
        next(connectError(error));
      },
    );
  });

  io.on('connection', (socket: Socket) => {
    const session = (socket.data as { session?: Session }).session;
    if (session === undefined) {
      socket.disconnect(true);
      return;
    }
    void socket.join(accountRoom(session.accountId));
    deps.metrics.connections.inc();
    deps.metrics.connectionsTotal.inc();
    const log = childLogger(deps.logger, { accountId: session.accountId, deviceId: session.deviceId, socketId: socket.id });
    session.logger = log;
    log.log('debug', 'socket connected', { address: socket.handshake.address });
    const expiry = sessionExpiry(session, deps.now, () => {
      log.log('info', 'token expired: closing socket');
      socket.disconnect(true);
    });
    session.renew = sessionRenewer(deps.tokens, session, () => expiry.rearm());
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as (answer: unknown) => void) : undefined;
      const payload = ack !== undefined && args.length === 1 ? undefined : args[0];
      void deps.dispatch(session, typeof event === 'string' ? event : String(event), payload).then((answer) => {
        ack?.(answer);
      });
    });
    socket.on('disconnect', (reason) => {
      expiry.cancel();
      deps.metrics.connections.dec();
      log.log('debug', 'socket disconnected', { reason });
    });
  });
}

/** JSON round trip: an in-process session sees exactly what a socket would (and shares no objects). */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * An answer as an in-process session carries it: a `'json'` pull page's bytes (which a socket sends
 * as a binary attachment) become the text, which survives the JSON round trip.
 */
function forInProcess(answer: Answer<object>): Answer<object> {
  if (!answer.ok || !('documentsJson' in answer) || !(answer.documentsJson instanceof Uint8Array)) return answer;
  const page: object = { ...answer, documentsJson: Buffer.from(answer.documentsJson.buffer, answer.documentsJson.byteOffset, answer.documentsJson.byteLength).toString('utf8') };
  return page as Answer<object>;
}

/** The in-process endpoint of `server.connectInProcess`; rejects 302 on a bad token. */
export async function openInProcessSession(
  deps: SessionDeps,
  token: string,
  options: { deviceId?: string; onClose?: (close: () => void) => () => void } = {},
): Promise<SessionEndpoint & { readonly closed: boolean }> {
  if (options.deviceId !== undefined && !isDeviceId(options.deviceId)) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'malformed device id');
  }
  const verified = await deps.tokens.verify(token);
  await deps.limits.admitHandshake(verified.accountId, undefined);
  const session: Session = {
    accountId: verified.accountId,
    deviceId: options.deviceId,
    expiresAt: verified.expiresAt,
    admit: () => deps.limits.admitEvent(verified.accountId, undefined),
    logger: childLogger(deps.logger, { accountId: verified.accountId, deviceId: options.deviceId, inProcess: true }),
  };
  const unsubscribes = new Set<() => void>();
  let closed = false;
  // Replaced below; sessionExpiry may call close() at once, before it returns.
  let expiry: { rearm(): void; cancel(): void } = { rearm: () => undefined, cancel: () => undefined };
  let unregister = (): void => undefined;
  deps.metrics.connections.inc();
  deps.metrics.connectionsTotal.inc();
  const close = (): void => {
    if (closed) return;
    closed = true;
    expiry.cancel();
    unregister();
    for (const unsubscribe of unsubscribes) unsubscribe();
    unsubscribes.clear();
    deps.metrics.connections.dec();
  };
  unregister = options.onClose?.(close) ?? unregister;
  expiry = sessionExpiry(session, deps.now, close);
  session.renew = sessionRenewer(deps.tokens, session, () => expiry.rearm());
  return {
    get closed() {
      return closed;
    },
    async request(event, payload) {
      if (closed) return { ok: false, error: { code: ErrorCode.OFFLINE, desc: 'the session is closed' } };
      let copy: unknown;
      try {
        copy = payload === undefined ? undefined : wire(payload);
      } catch {
        return { ok: false, error: { code: ErrorCode.INVALID_PARAMETER, desc: 'payload is not serialisable' } };
      }
      return wire(forInProcess(await deps.dispatch(session, event, copy)));
    },
    onStream(listener: (event: StreamEvent) => void) {
      if (closed) return () => undefined;
      const unsubscribe = deps.hub.subscribe(session.accountId, (event) => {
        if (!closed) listener(wire(event));
      });
      unsubscribes.add(unsubscribe);
      return () => {
        unsubscribe();
        unsubscribes.delete(unsubscribe);
      };
    },
    close,
  };
}
