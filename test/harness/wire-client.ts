/**
 * A protocol-level client: a raw socket.io connection that speaks the wire messages of
 * @convsync/protocol directly. The security suite attacks with it, the fault runs replay captured
 * pushes with it, and the checks read the server's truth through it (a full pull).
 */
import {
  ClientEvent,
  PROTOCOL_VERSION,
  parseOrThrow,
  pullAnswerSchema,
  streamEventSchema,
  type Answer,
  type Collection,
  type ConversationDoc,
  type ConversationGroupDoc,
  type StreamEvent,
} from '@convsync/protocol';
import { io, type Socket } from 'socket.io-client';

export interface WireClientOptions {
  url: string;
  /** Handshake auth as sent (a test may send anything). */
  auth?: Record<string, unknown>;
  /** Default: no automatic reconnection (a test decides). */
  reconnection?: boolean;
  extraHeaders?: Record<string, string>;
}

export type ConnectOutcome = { connected: true } | { connected: false; data: unknown; message: string };

/** What a request returns when no acknowledgement came in time. */
export const NO_ACK = { ok: false, error: { code: 192002, desc: 'no acknowledgement' } } as const;

export class WireClient {
  readonly socket: Socket;
  /** Every stream event received, validated. */
  readonly streams: StreamEvent[] = [];
  /** Stream frames that failed validation (must stay empty). */
  readonly badStreams: unknown[] = [];

  constructor(options: WireClientOptions) {
    this.socket = io(options.url, {
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      transports: ['websocket'],
      reconnection: options.reconnection ?? false,
      reconnectionDelay: 50,
      reconnectionDelayMax: 300,
      forceNew: true,
      ...(options.extraHeaders === undefined ? {} : { extraHeaders: options.extraHeaders }),
    });
    this.socket.on(ClientEventStream, (event: unknown) => {
      try {
        this.streams.push(parseOrThrow(streamEventSchema, event, 'sync:stream'));
      } catch {
        this.badStreams.push(event);
      }
    });
  }

  /** A client of `accountId` with a token, connected. */
  static async connect(options: { url: string; token: string; deviceId?: string }): Promise<WireClient> {
    const client = new WireClient({
      url: options.url,
      auth: { token: options.token, protocolVersion: PROTOCOL_VERSION, ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }) },
    });
    const outcome = await client.outcome();
    if (!outcome.connected) {
      client.close();
      throw new Error(`connect refused: ${outcome.message} ${JSON.stringify(outcome.data)}`);
    }
    return client;
  }

  /**
   * Whether the handshake succeeded (and the refusal's data when not). A transport that dies
   * mid-handshake (a server killed at that moment) raises no `connect_error`, hence the timeout.
   */
  outcome(timeoutMs = 5000): Promise<ConnectOutcome> {
    if (this.socket.connected) return Promise.resolve({ connected: true });
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ connected: false, data: undefined, message: 'handshake timed out' }), timeoutMs);
      this.socket.once('connect', () => {
        clearTimeout(timer);
        resolve({ connected: true });
      });
      this.socket.once('connect_error', (error: Error & { data?: unknown }) => {
        clearTimeout(timer);
        resolve({ connected: false, data: error.data, message: error.message });
      });
    });
  }

  /** One request; `NO_ACK` when nothing answers within `timeoutMs`. */
  async request(event: string, payload?: unknown, timeoutMs = 5000): Promise<Answer<Record<string, unknown>>> {
    try {
      const emitter = this.socket.timeout(timeoutMs);
      const answer: unknown = payload === undefined ? await emitter.emitWithAck(event) : await emitter.emitWithAck(event, payload);
      return answer as Answer<Record<string, unknown>>;
    } catch {
      return NO_ACK;
    }
  }

  /** The account's whole collection as the server holds it (tombstones included). */
  async pullAll(collection: 'conversations'): Promise<ConversationDoc[]>;
  async pullAll(collection: 'conversationGroups'): Promise<ConversationGroupDoc[]>;
  async pullAll(collection: Collection): Promise<(ConversationDoc | ConversationGroupDoc)[]> {
    const byId = new Map<string, ConversationDoc | ConversationGroupDoc>();
    let checkpoint: { seq: number } | null = null;
    for (;;) {
      const raw = await this.request(ClientEvent.PULL, { collection, checkpoint, batchSize: 500 }, 10_000);
      const answer = parseOrThrow(pullAnswerSchema, raw, 'pull answer');
      if (!answer.ok) throw new Error(`pull refused: ${answer.error.code} ${answer.error.desc}`);
      for (const doc of answer.documents) byId.set('conversationId' in doc ? doc.conversationId : doc.groupId, doc);
      checkpoint = answer.checkpoint;
      if (!answer.hasMore) break;
    }
    return [...byId.values()];
  }

  close(): void {
    this.socket.disconnect();
  }
}

const ClientEventStream = 'sync:stream';
