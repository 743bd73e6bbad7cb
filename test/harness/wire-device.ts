/**
 * A protocol-level device: a replica of one account's documents that edits offline with the
 * protocol's merge rules and HLC, and replicates over socket.io exactly as the wire contract says
 * (push rows of dirty documents, conflicts adopted by merge, pull by checkpoint, stream
 * events applied only when their `prevSeq` matches, an outbox of messages retried until
 * acknowledged). It proves the server under faults independently of the engine; engine devices
 * (worker threads) run the same scenarios through the SDK.
 */
import {
  ClientEvent,
  Collection,
  HybridLogicalClock,
  PROTOCOL_VERSION,
  emptyConversation,
  lastMessageTime,
  mergeConversation,
  mergeConversationGroup,
  normalizeConversation,
  parseOrThrow,
  pullAnswerSchema,
  pushAnswerSchema,
  sendMessageAnswerSchema,
  jsonEqual,
  type ConversationDoc,
  type ConversationGroupDoc,
  type Message,
  type SendMessageRequest,
  type StreamEvent,
} from '@convsync/protocol';
import { io, type Socket } from 'socket.io-client';

type Doc = ConversationDoc | ConversationGroupDoc;

interface Replica<D extends Doc> {
  docs: Map<string, D>;
  masters: Map<string, D>;
  dirty: Set<string>;
  seq: number;
}

export interface WireDeviceOptions {
  url: string;
  token: string;
  account: string;
  deviceId: string;
  /** Added to Date.now() for this device's clock (up to ±24 h in the runs). */
  skewMs?: number;
  /** Every push payload this device sends, for duplicate/reorder replays. */
  onPush?: (payload: unknown) => void;
}

/** Codes after which a message is not retried: the server refused it for good. */
const FINAL_CODES = new Set([191004, 403, 404, 110404]);

export class WireDevice {
  readonly account: string;
  readonly deviceId: string;
  readonly clock: HybridLogicalClock;
  /** Every message the server acknowledged to this device. */
  readonly acked: Message[] = [];
  /** Messages the server refused for good. */
  readonly refused: { request: SendMessageRequest; code: number }[] = [];
  /** Read times that moved back on this device (must stay empty). */
  readonly readTimeRegressions: string[] = [];
  readonly #conversations: Replica<ConversationDoc> = { docs: new Map(), masters: new Map(), dirty: new Set(), seq: 0 };
  readonly #groups: Replica<ConversationGroupDoc> = { docs: new Map(), masters: new Map(), dirty: new Set(), seq: 0 };
  readonly #outbox = new Map<string, SendMessageRequest>();
  readonly #socket: Socket;
  readonly #onPush: ((payload: unknown) => void) | undefined;
  #online = true;
  #running: Promise<void> | undefined;
  #again = false;
  #lastError = '';

  constructor(options: WireDeviceOptions) {
    this.account = options.account;
    this.deviceId = options.deviceId;
    const skew = options.skewMs ?? 0;
    this.clock = new HybridLogicalClock({ deviceId: options.deviceId, now: () => Date.now() + skew });
    this.#onPush = options.onPush;
    this.#socket = io(options.url, {
      auth: { token: options.token, protocolVersion: PROTOCOL_VERSION, deviceId: options.deviceId },
      transports: ['websocket'],
      reconnectionDelay: 50,
      reconnectionDelayMax: 250,
      randomizationFactor: 0,
      forceNew: true,
    });
    this.#socket.on('connect', () => this.poke());
    this.#socket.on('sync:stream', (event: StreamEvent) => this.#onStream(event));
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  get online(): boolean {
    return this.#online;
  }

  /** What is not yet acknowledged by the server. */
  get pending(): number {
    return this.#conversations.dirty.size + this.#groups.dirty.size + this.#outbox.size;
  }

  get lastError(): string {
    return this.#lastError;
  }

  conversation(id: string): ConversationDoc | undefined {
    return this.#conversations.docs.get(id);
  }

  conversations(): ConversationDoc[] {
    return [...this.#conversations.docs.values()];
  }

  groups(): ConversationGroupDoc[] {
    return [...this.#groups.docs.values()];
  }

  // ---- local edits (work offline) -------------------------------------------------------------

  /** Edits a conversation locally (creating its placeholder if absent) and schedules a push. */
  editConversation(id: string, edit: (doc: ConversationDoc, stamp: string) => ConversationDoc): ConversationDoc {
    const base = this.#conversations.docs.get(id) ?? emptyConversation({ conversationId: id, now: Date.now() });
    const next = normalizeConversation(edit(base, this.clock.tick()));
    this.#setConversation(id, next);
    this.#conversations.dirty.add(id);
    this.poke();
    return next;
  }

  /** Marks read up to the newest message this device knows; returns the read time. */
  markRead(id: string): number {
    const time = lastMessageTime(this.#conversations.docs.get(id)?.lastMessage ?? null);
    const doc = this.editConversation(id, (d) => ({ ...d, lastReadTime: Math.max(d.lastReadTime, time) }));
    return doc.lastReadTime;
  }

  editGroup(groupId: string, edit: (doc: ConversationGroupDoc | undefined, stamp: string) => ConversationGroupDoc): void {
    const next = edit(this.#groups.docs.get(groupId), this.clock.tick());
    this.#groups.docs.set(groupId, next);
    this.#groups.dirty.add(groupId);
    this.poke();
  }

  /** Queues a message (delivered exactly once, whenever the device is online). */
  send(request: SendMessageRequest): void {
    this.#outbox.set(request.clientMessageId, request);
    this.poke();
  }

  // ---- network --------------------------------------------------------------------------------

  /** Like `engine.disconnect()`: stop talking to the server; edits keep working. */
  disconnect(): void {
    this.#online = false;
    this.#socket.disconnect();
  }

  connect(): void {
    this.#online = true;
    this.#socket.connect();
  }

  /** Runs a sync pass now (or once more after the current one). */
  poke(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#syncOnce();
        } catch (error) {
          this.#lastError = String(error);
        }
      } while (this.#again && this.#socket.connected);
      this.#running = undefined;
    })();
  }

  /** Resolves once connected with nothing pending and caught up with the server's logs. */
  async settle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#socket.connected) {
        await this.#running;
        await this.#syncOnce().catch((error: unknown) => {
          this.#lastError = String(error);
        });
        if (this.pending === 0 && this.#socket.connected && await this.#caughtUp()) return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.deviceId} did not settle: connected=${this.#socket.connected} pending=${this.pending} lastError=${this.#lastError}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.#online = false;
    this.#socket.disconnect();
  }

  async #request(event: string, payload: unknown): Promise<unknown> {
    if (!this.#socket.connected) throw new Error('offline');
    const answer: unknown = await this.#socket.timeout(4000).emitWithAck(event, payload);
    return answer;
  }

  async #caughtUp(): Promise<boolean> {
    for (const collection of [Collection.CONVERSATIONS, Collection.CONVERSATION_GROUPS] as const) {
      const replica = collection === Collection.CONVERSATIONS ? this.#conversations : this.#groups;
      const answer = parseOrThrow(pullAnswerSchema, await this.#request(ClientEvent.PULL, { collection, checkpoint: { seq: replica.seq }, batchSize: 1 }), 'pull');
      if (!answer.ok || answer.documents.length > 0) return false;
    }
    return true;
  }

  async #syncOnce(): Promise<void> {
    if (!this.#socket.connected) return;
    await this.#pushCollection(Collection.CONVERSATION_GROUPS);
    await this.#pushCollection(Collection.CONVERSATIONS);
    for (const [clientMessageId, request] of [...this.#outbox]) {
      const answer = parseOrThrow(sendMessageAnswerSchema, await this.#request(ClientEvent.MESSAGE_SEND, request), 'send answer');
      if (answer.ok) {
        if (!this.acked.some((m) => m.messageClientId === clientMessageId)) this.acked.push(answer.message);
        this.#outbox.delete(clientMessageId);
      } else if (FINAL_CODES.has(answer.error.code)) {
        this.refused.push({ request, code: answer.error.code });
        this.#outbox.delete(clientMessageId);
      } else {
        throw new Error(`send failed: ${answer.error.code} ${answer.error.desc}`);
      }
    }
    await this.#pull(Collection.CONVERSATIONS);
    await this.#pull(Collection.CONVERSATION_GROUPS);
  }

  async #pushCollection(collection: Collection): Promise<void> {
    const replica = (collection === Collection.CONVERSATIONS ? this.#conversations : this.#groups) as Replica<Doc>;
    const ids = [...replica.dirty].slice(0, 100);
    if (ids.length === 0) return;
    const sent = new Map(ids.map((id) => [id, replica.docs.get(id) as Doc]));
    const payload = {
      collection,
      rows: ids.map((id) => ({ newDocumentState: sent.get(id) })),
    };
    this.#onPush?.(payload);
    const answer = parseOrThrow(pushAnswerSchema, await this.#request(ClientEvent.PUSH, payload), 'push answer');
    if (!answer.ok) throw new Error(`push refused: ${answer.error.code} ${answer.error.desc}`);
    const conflicts = new Map<string, Doc>(answer.conflicts.map((doc: Doc) => [keyOf(doc), doc]));
    for (const id of ids) {
      const master = conflicts.get(id) ?? sent.get(id);
      if (master === undefined) continue;
      this.#applyServerDoc(collection, master);
      // Clean unless the device edited it again meanwhile (or the merge still differs).
      if (jsonEqual(replica.docs.get(id), replica.masters.get(id))) replica.dirty.delete(id);
      else if (jsonEqual(replica.docs.get(id), sent.get(id)) && !conflicts.has(id)) replica.dirty.delete(id);
    }
    if (replica.dirty.size > 0) this.#again = true;
  }

  async #pull(collection: Collection): Promise<void> {
    const replica = collection === Collection.CONVERSATIONS ? this.#conversations : this.#groups;
    for (;;) {
      const answer = parseOrThrow(pullAnswerSchema, await this.#request(ClientEvent.PULL, { collection, checkpoint: { seq: replica.seq }, batchSize: 100 }), 'pull answer');
      if (!answer.ok) throw new Error(`pull refused: ${answer.error.code} ${answer.error.desc}`);
      for (const doc of answer.documents) this.#applyServerDoc(collection, doc);
      replica.seq = Math.max(replica.seq, answer.checkpoint.seq);
      if (!answer.hasMore) return;
    }
  }

  #onStream(event: StreamEvent): void {
    const replica = event.collection === Collection.CONVERSATIONS ? this.#conversations : this.#groups;
    if (event.prevSeq !== replica.seq) {
      this.poke();
      return;
    }
    for (const doc of event.documents) this.#applyServerDoc(event.collection, doc);
    replica.seq = event.checkpoint.seq;
  }

  /** A server document joins both the known master and the local document (never moves back). */
  #applyServerDoc(collection: Collection, doc: Doc): void {
    if (collection === Collection.CONVERSATIONS) {
      const d = doc as ConversationDoc;
      const id = d.conversationId;
      const master = this.#conversations.masters.get(id);
      this.#conversations.masters.set(id, master === undefined ? d : mergeConversation(master, d));
      const local = this.#conversations.docs.get(id);
      this.#setConversation(id, local === undefined ? d : mergeConversation(local, d));
    } else {
      const g = doc as ConversationGroupDoc;
      const master = this.#groups.masters.get(g.groupId);
      this.#groups.masters.set(g.groupId, master === undefined ? g : mergeConversationGroup(master, g));
      const local = this.#groups.docs.get(g.groupId);
      this.#groups.docs.set(g.groupId, local === undefined ? g : mergeConversationGroup(local, g));
    }
  }

  #setConversation(id: string, next: ConversationDoc): void {
    const before = this.#conversations.docs.get(id);
    if (before !== undefined && next.lastReadTime < before.lastReadTime) {
      this.readTimeRegressions.push(`${this.deviceId} ${id}: ${before.lastReadTime} → ${next.lastReadTime}`);
    }
    this.#conversations.docs.set(id, next);
  }
}

function keyOf(doc: Doc): string {
  return 'conversationId' in doc ? doc.conversationId : doc.groupId;
}
