/**
 * A protocol-level device for the scale-out suite: speaks the wire messages of @convsync/protocol
 * over socket.io-client, the way the engine replicates, without RxDB (so dozens fit in one process):
 *
 * - it keeps a checkpoint per collection and applies a `sync:stream` event only when the event's
 *   `prevSeq` equals its position; otherwise (a lost, late or reordered event) it pulls from its
 *   checkpoint — the gap detection the engine does;
 * - it is given several server URLs; when its server goes away it connects to the next one and
 *   resyncs from its checkpoint;
 * - `push` and `send` retry until the server acknowledges (sends are idempotent by client id), so
 *   "acknowledged" means committed; a 416 is retried after its `retryAfterMs`, as the engine does;
 * - on `session:move` (its server is draining) it moves to the next URL after the delay asked.
 *
 * Every applied conversation's `serverRev` is recorded, so a test can prove no change was skipped.
 */
import {
  ClientEvent,
  Collection,
  PROTOCOL_VERSION,
  ServerEvent,
  emptyConversation,
  retryAfterMs,
  normalizeConversation,
  type Answer,
  type ConversationDoc,
  type Message,
  type PullResponse,
  type PushResponse,
  type SessionMove,
  type StreamEvent,
} from '@convsync/protocol';
import { io, type Socket } from 'socket.io-client';

const REQUEST_TIMEOUT_MS = 5_000;
const COLLECTIONS = [Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS] as const;
type CollectionName = (typeof COLLECTIONS)[number];

export interface DeviceOptions {
  accountId: string;
  deviceId: string;
  token: string;
  /** Server URLs; the device starts on `urls[start]` and fails over to the next ones in turn. */
  urls: readonly string[];
  start?: number;
}

/** A change the device made locally, as the engine would push it (a new conversation). */
export function newConversation(conversationId: string, now = Date.now()): ConversationDoc {
  return normalizeConversation(emptyConversation({ conversationId, now }));
}

export class WireDevice {
  readonly conversations = new Map<string, ConversationDoc>();
  readonly position: Record<CollectionName, number> = { conversations: 0, conversationGroups: 0 };
  /** serverRev of every conversation document applied, in order of application. */
  readonly appliedRevs: number[] = [];
  /** Any document that arrived at or below the position it was applied at (must stay empty). */
  readonly outOfOrder: string[] = [];
  readonly stats = { streamsApplied: 0, gaps: 0, pulls: 0, failovers: 0, connects: 0, moves: 0 };
  readonly urlsUsed: string[] = [];
  /** When (ms since the epoch) each connect of `urlsUsed` happened. */
  readonly connectTimes: number[] = [];

  #socket: Socket | undefined;
  #index: number;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();
  #connected: Promise<void>;
  #markConnected!: () => void;
  /** Whether `#connected` has resolved (a failover then needs a new one; before, callers wait on it). */
  #wasConnected = false;

  private constructor(readonly options: DeviceOptions) {
    this.#index = options.start ?? 0;
    this.#connected = new Promise((done) => { this.#markConnected = done; });
  }

  /** Connects and finishes the first sync. */
  static async open(options: DeviceOptions): Promise<WireDevice> {
    const device = new WireDevice(options);
    device.#connect();
    await device.#connected;
    await device.idle();
    return device;
  }

  get accountId(): string {
    return this.options.accountId;
  }

  get url(): string | undefined {
    return this.#socket?.connected === true ? this.options.urls[this.#index] : undefined;
  }

  /** Resolves when every queued stream/pull task has run. */
  async idle(): Promise<void> {
    let chain;
    do {
      chain = this.#chain;
      await chain;
    } while (chain !== this.#chain);
  }

  /** Pushes documents; retries across failovers until acknowledged. Returns the conflicts. */
  async push(docs: readonly ConversationDoc[]): Promise<ConversationDoc[]> {
    const answer = await this.#request<PushResponse>(ClientEvent.PUSH, {
      collection: Collection.CONVERSATIONS,
      rows: docs.map((doc) => ({ newDocumentState: doc })),
    });
    return answer.conflicts as ConversationDoc[];
  }

  /** Sends a message; retried with the same client id until acknowledged, so it lands once. */
  async send(conversationId: string, text: string, clientMessageId = `c${Math.random().toString(36).slice(2)}`): Promise<Message> {
    const answer = await this.#request<{ message: Message }>(ClientEvent.MESSAGE_SEND, { clientMessageId, conversationId, text });
    return answer.message;
  }

  /** Pulls a whole collection from 0 (a fresh replica's view), without touching this device's state. */
  async pullEverything(): Promise<ConversationDoc[]> {
    const latest = new Map<string, ConversationDoc>();
    let seq = 0;
    for (;;) {
      const page = await this.#request<PullResponse>(ClientEvent.PULL, { collection: Collection.CONVERSATIONS, checkpoint: { seq }, batchSize: 200 });
      for (const doc of page.documents as ConversationDoc[]) latest.set(doc.conversationId, doc);
      seq = page.checkpoint.seq;
      if (!page.hasMore) return [...latest.values()];
    }
  }

  /** Polls `condition` until it holds, or fails after `timeoutMs` naming `what`. */
  async waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${this.options.deviceId}: timed out waiting for ${what}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  close(): void {
    this.#closed = true;
    this.#socket?.disconnect();
  }

  #connect(): void {
    if (this.#closed) return;
    const url = this.options.urls[this.#index] as string;
    const socket = io(url, {
      auth: { token: this.options.token, protocolVersion: PROTOCOL_VERSION, deviceId: this.options.deviceId },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 3_000,
    });
    this.#socket = socket;
    socket.on('connect', () => {
      this.stats.connects++;
      this.urlsUsed.push(url);
      this.connectTimes.push(Date.now());
      this.#wasConnected = true;
      this.#markConnected();
      // A (re)connect may follow missed events: resync from the checkpoint, as the engine does.
      this.#enqueue(() => this.#pullAll());
    });
    socket.on(ServerEvent.STREAM, (event: StreamEvent) => this.#enqueue(() => this.#onStream(event)));
    const failover = (delayMs = 50) => {
      if (this.#socket !== socket) return; // this socket already failed over (a move, then its close)
      this.#socket = undefined;
      socket.removeAllListeners();
      socket.disconnect();
      if (this.#closed) return;
      // Replacing a promise nobody resolved yet would strand the requests waiting on it.
      if (this.#wasConnected) {
        this.#wasConnected = false;
        this.#connected = new Promise((done) => { this.#markConnected = done; });
      }
      this.stats.failovers++;
      this.#index = (this.#index + 1) % this.options.urls.length;
      setTimeout(() => this.#connect(), delayMs);
    };
    socket.on('disconnect', () => failover());
    socket.on('connect_error', (error: Error & { data?: { detail?: unknown } }) => failover(Math.max(50, retryAfterMs(error.data?.detail) ?? 0)));
    socket.on(ServerEvent.SESSION_MOVE, (move: SessionMove) => {
      this.stats.moves++;
      setTimeout(() => failover(0), move.reconnectInMs + Math.floor(Math.random() * 250));
    });
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch(() => {
      // A pull cut by a disconnect is redone by the resync of the next connect; one that failed on
      // a live socket (a timeout under load) is redone now, or nothing would until the next event.
      if (!this.#closed && this.#socket?.connected === true) setTimeout(() => this.#enqueue(() => this.#pullAll()), 100);
    });
  }

  async #onStream(event: StreamEvent): Promise<void> {
    if (event.prevSeq !== this.position[event.collection]) {
      this.stats.gaps++;
      await this.#pull(event.collection);
      return;
    }
    this.stats.streamsApplied++;
    this.#apply(event.collection, event.documents as ConversationDoc[], event.checkpoint.seq);
  }

  async #pullAll(): Promise<void> {
    for (const collection of COLLECTIONS) await this.#pull(collection);
  }

  async #pull(collection: CollectionName): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return;
    for (;;) {
      this.stats.pulls++;
      const answer = (await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(ClientEvent.PULL, {
        collection,
        checkpoint: { seq: this.position[collection] },
        batchSize: 100,
      })) as Answer<PullResponse>;
      const hint = answer.ok ? undefined : retryAfterMs(answer.error.detail);
      if (hint !== undefined) {
        await new Promise((done) => setTimeout(done, hint));
        continue;
      }
      if (!answer.ok) throw new Error(`pull refused: ${answer.error.code} ${answer.error.desc}`);
      this.#apply(collection, answer.documents as ConversationDoc[], answer.checkpoint.seq);
      if (!answer.hasMore) return;
    }
  }

  #apply(collection: CollectionName, documents: readonly ConversationDoc[], seq: number): void {
    if (collection === Collection.CONVERSATIONS) {
      for (const doc of documents) {
        if (doc.serverRev <= this.position.conversations) this.outOfOrder.push(`${doc.conversationId}@${doc.serverRev}`);
        this.appliedRevs.push(doc.serverRev);
        this.conversations.set(doc.conversationId, doc);
      }
    }
    if (seq < this.position[collection]) this.outOfOrder.push(`${collection} checkpoint back to ${seq}`);
    this.position[collection] = Math.max(seq, this.position[collection]);
  }

  /** One request, retried on whichever server the device is connected to until it is answered. */
  async #request<T extends object>(event: string, payload: unknown): Promise<T> {
    for (;;) {
      if (this.#closed) throw new Error('device closed');
      await this.#connected;
      const socket = this.#socket;
      if (socket === undefined || !socket.connected) {
        await new Promise((done) => setTimeout(done, 20));
        continue;
      }
      let answer: Answer<T>;
      try {
        answer = (await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, payload)) as Answer<T>;
      } catch {
        continue; // disconnected or timed out: the server may or may not have committed; retry.
      }
      const hint = answer.ok ? undefined : retryAfterMs(answer.error.detail);
      if (hint !== undefined) {
        await new Promise((done) => setTimeout(done, hint));
        continue; // rate limited: not carried out, so sending it again is safe.
      }
      if (!answer.ok) throw new Error(`${event} refused: ${answer.error.code} ${answer.error.desc}`);
      return answer;
    }
  }
}
