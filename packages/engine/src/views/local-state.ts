/**
 * Device-local state joined into every conversation object: the local extensions and the
 * pending outbox. Both collections are small, so each is mirrored in memory (one live query) and
 * read synchronously by the mappers; `changes$` says which conversations a change touched.
 */
import { BehaviorSubject, Subject, type Observable, type Subscription } from 'rxjs';
import type { LastMessage } from '@convsync/protocol';
import type { Replica, OutboxDoc } from '../replica/types.js';
import { pendingLastMessage, type ConversationJoin } from './conversation-object.js';

export class LocalState {
  readonly #extensions = new Map<string, string>();
  /** Pending (state 'sending') messages per conversation, oldest first. */
  readonly #pending = new Map<string, OutboxDoc[]>();
  readonly #changes = new Subject<string[]>();
  readonly #version = new BehaviorSubject<number>(0);
  readonly #subscriptions: Subscription[] = [];
  readonly ready: Promise<void>;

  constructor(private readonly replica: Replica, private readonly accountId: string) {
    let extensionsReady!: () => void;
    let outboxReady!: () => void;
    const a = new Promise<void>((resolve) => (extensionsReady = resolve));
    const b = new Promise<void>((resolve) => (outboxReady = resolve));
    this.ready = Promise.all([a, b]).then(() => undefined);
    this.#subscriptions.push(
      replica.localExtensions.find().$.subscribe((docs) => {
        const touched = new Set<string>(this.#extensions.keys());
        const next = new Map(docs.map((d) => [d.conversationId, d.localExtension] as const));
        for (const id of next.keys()) touched.add(id);
        const changed = [...touched].filter((id) => this.#extensions.get(id) !== next.get(id));
        this.#extensions.clear();
        for (const [id, value] of next) this.#extensions.set(id, value);
        extensionsReady();
        this.#announce(changed);
      }),
      replica.outbox.find({ sort: [{ createTime: 'asc' }, { clientMessageId: 'asc' }] }).$.subscribe((docs) => {
        const before = new Map([...this.#pending].map(([id, list]) => [id, list.map((m) => m.clientMessageId).join(',')]));
        this.#pending.clear();
        for (const doc of docs) {
          const data = doc.toJSON() as OutboxDoc;
          if (data.state !== 'sending') continue;
          const list = this.#pending.get(data.conversationId) ?? [];
          list.push(data);
          this.#pending.set(data.conversationId, list);
        }
        const touched = new Set([...before.keys(), ...this.#pending.keys()]);
        const changed = [...touched].filter((id) =>
          before.get(id) !== (this.#pending.get(id)?.map((m) => m.clientMessageId).join(',')));
        outboxReady();
        this.#announce(changed);
      }),
    );
  }

  /** Conversation ids whose local join changed. */
  get changes$(): Observable<string[]> {
    return this.#changes.asObservable();
  }

  /** Bumps on every local change (for list pipelines that re-map everything). */
  get version$(): Observable<number> {
    return this.#version.asObservable();
  }

  localExtension(conversationId: string): string | undefined {
    return this.#extensions.get(conversationId);
  }

  /** When the newest pending send of a conversation was written (estimated server time). */
  newestPendingTime(conversationId: string): number | undefined {
    const pending = this.#pending.get(conversationId);
    return pending?.[pending.length - 1]?.createTime;
  }

  /** The conversations with a pending send (the list places them by it). */
  pendingConversationIds(): string[] {
    return [...this.#pending.keys()];
  }

  pendingMessages(conversationId: string): readonly OutboxDoc[] {
    return this.#pending.get(conversationId) ?? [];
  }

  join(doc: { conversationId: string; targetId: string } & Parameters<typeof pendingLastMessage>[1]): ConversationJoin {
    const pending = this.#pending.get(doc.conversationId);
    const newest = pending?.[pending.length - 1];
    const last: LastMessage | undefined = newest === undefined ? undefined : pendingLastMessage(this.accountId, doc, newest);
    return { localExtension: this.#extensions.get(doc.conversationId), pending: last };
  }

  dispose(): void {
    for (const s of this.#subscriptions) s.unsubscribe();
    this.#changes.complete();
    this.#version.complete();
  }

  #announce(changed: string[]): void {
    if (changed.length === 0) return;
    this.#changes.next(changed);
    this.#version.next(this.#version.value + 1);
  }
}
