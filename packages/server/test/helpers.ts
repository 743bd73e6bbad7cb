/** Test scaffolding: a real server on 127.0.0.1:0, real socket.io clients, and condition waits. */
import {
  ClientEvent,
  PROTOCOL_VERSION,
  emptyConversation,
  normalizeConversation,
  type Answer,
  type ConversationDoc,
  type StreamEvent,
} from '@convsync/protocol';
import { io, type Socket } from 'socket.io-client';
import { startServer, type ConvSyncServer, type ServerOptions } from '../src/index.js';

/** Everything a test opened, closed in afterEach. */
export class Harness {
  readonly servers: ConvSyncServer[] = [];
  readonly sockets: Socket[] = [];

  async server(options: ServerOptions = {}): Promise<ConvSyncServer> {
    const server = await startServer({ database: ':memory:', port: 0, ...options });
    this.servers.push(server);
    return server;
  }

  /** A connected client of `accountId` that records every stream event it receives. */
  async client(server: ConvSyncServer, accountId: string, options: { deviceId?: string } = {}): Promise<Client> {
    const token = await server.issueToken(accountId);
    const socket = io(server.url, {
      auth: { token, protocolVersion: PROTOCOL_VERSION, ...(options.deviceId === undefined ? {} : { deviceId: options.deviceId }) },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    this.sockets.push(socket);
    const client = new Client(socket, accountId);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return client;
  }

  /** A raw socket (not waited on) with the given handshake auth. */
  rawSocket(server: ConvSyncServer, auth: Record<string, unknown> | undefined): Socket {
    const socket = io(server.url, {
      ...(auth === undefined ? {} : { auth }),
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    this.sockets.push(socket);
    return socket;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.splice(0)) socket.disconnect();
    await Promise.all(this.servers.splice(0).map((server) => server.close()));
  }
}

export class Client {
  readonly streams: StreamEvent[] = [];

  constructor(readonly socket: Socket, readonly accountId: string) {
    socket.on('sync:stream', (event: StreamEvent) => this.streams.push(event));
  }

  request<T extends object = Record<string, unknown>>(event: string, payload?: unknown): Promise<Answer<T>> {
    const emitter = this.socket.timeout(10_000);
    return (payload === undefined ? emitter.emitWithAck(event) : emitter.emitWithAck(event, payload)) as Promise<Answer<T>>;
  }

  async ok<T extends object = Record<string, unknown>>(event: string, payload?: unknown): Promise<T> {
    const answer = await this.request<T>(event, payload);
    if (!answer.ok) throw new Error(`${event} failed: ${answer.error.code} ${answer.error.desc}`);
    return answer;
  }

  /** Pulls the whole collection from `seq` (following hasMore), returning the documents and the last checkpoint. */
  async pullAll<D = ConversationDoc>(collection = 'conversations', fromSeq = 0, batchSize = 100): Promise<{ documents: D[]; seq: number }> {
    const documents: D[] = [];
    let seq = fromSeq;
    for (;;) {
      const page = await this.ok<{ documents: D[]; checkpoint: { seq: number }; hasMore: boolean }>(ClientEvent.PULL, {
        collection,
        checkpoint: { seq },
        batchSize,
      });
      documents.push(...page.documents);
      seq = page.checkpoint.seq;
      if (!page.hasMore) return { documents, seq };
    }
  }

  async send(conversationId: string, text: string, clientMessageId = `c${Math.random().toString(36).slice(2)}`) {
    return this.ok<{ message: { createTime: number; messageServerId: string } }>(ClientEvent.MESSAGE_SEND, {
      clientMessageId,
      conversationId,
      text,
    });
  }
}

/** Waits until `condition` holds (polling), or fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A device's local edit of a conversation, as the engine would push it. */
export function localDoc(conversationId: string, edit: Partial<ConversationDoc> = {}, now = 1_000): ConversationDoc {
  return normalizeConversation({ ...emptyConversation({ conversationId, now }), ...edit });
}

/** Latest version of each document by id (a pull may carry history, last wins). */
export function byId(docs: readonly ConversationDoc[]): Map<string, ConversationDoc> {
  return new Map(docs.map((doc) => [doc.conversationId, doc]));
}
