/**
 * Delivers the outbox (messages written on this device) over `message:send` while online. The
 * server is idempotent by client message id, so a retry after a lost answer (or a crash between
 * the server's commit and our removal of the entry) never makes a second message: the user sees
 * each message exactly once. A transient failure (network, timeout, rate limit, server error)
 * keeps the message 'sending' and retries with backoff; a refusal (bad input, forbidden, …) marks
 * it 'failed' with the error.
 */
import type { Subscription } from 'rxjs';
import { ConvSyncError, ErrorCode, SendingState, parseConversationId, type Message } from '@convsync/protocol';
import type { OutboxDoc } from '../replica/types.js';
import type { ServiceCore } from './core.js';

export interface OutboxWorkerOptions {
  /** First retry delay after a transient failure (doubles up to `maxRetryDelayMs`). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** Whether a send failure may succeed later unchanged. */
export function isTransient(error: ConvSyncError): boolean {
  return (error.code >= 192000 && error.code < 193000) || error.code === ErrorCode.RATE_LIMITED ||
    error.code === ErrorCode.INTERNAL || error.code === ErrorCode.AUTH_FAILED;
}

/** The message an outbox entry stands for. */
export function outboxMessage(accountId: string, doc: OutboxDoc, state: SendingState): Message {
  const parsed = parseConversationId(doc.conversationId);
  return {
    messageClientId: doc.clientMessageId,
    messageServerId: '',
    conversationId: doc.conversationId,
    conversationType: parsed.type,
    senderId: accountId,
    receiverId: parsed.targetId,
    senderName: '',
    messageType: doc.messageType,
    text: doc.text,
    serverExtension: doc.serverExtension,
    createTime: doc.createTime,
    sendingState: state,
  };
}

export class OutboxWorker {
  readonly #core: ServiceCore;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  #online = false;
  #running = false;
  #again = false;
  #closed = false;
  #delay: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #subscription: Subscription;
  /** Settles when the current drain ends (for dispose and tests). */
  #idle: Promise<void> = Promise.resolve();

  constructor(core: ServiceCore, options: OutboxWorkerOptions = {}) {
    this.#core = core;
    this.#baseDelay = options.retryDelayMs ?? 1000;
    this.#maxDelay = options.maxRetryDelayMs ?? 30_000;
    this.#delay = this.#baseDelay;
    this.#subscription = core.ctx.online$.subscribe((online) => {
      this.#online = online;
      if (online) {
        this.#delay = this.#baseDelay;
        this.kick();
      }
    });
    // A message written by another engine on this replica (another tab) is delivered too. The
    // bulk stream, not `insert$`, which leaks (docs/ARCHITECTURE.md "Rules the code keeps").
    this.#subscription.add(core.ctx.replica.outbox.eventBulks$.subscribe((bulk) => {
      if (bulk.events.some((event) => event.operation === 'INSERT')) this.kick();
    }));
  }

  /** Starts a drain (or asks the running one to look again). */
  kick(): void {
    if (this.#closed || !this.#online) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#idle = this.#drain()
      .catch((error: unknown) => this.#core.ctx.reportError(error))
      .finally(() => {
        this.#running = false;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async dispose(): Promise<void> {
    this.#closed = true;
    this.#subscription.unsubscribe();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#idle.catch(() => undefined);
  }

  async #drain(): Promise<void> {
    const { ctx } = this.#core;
    for (;;) {
      this.#again = false;
      if (this.#closed || !this.#online) return;
      const pending = await ctx.replica.outbox
        .find({ selector: { state: 'sending' }, sort: [{ createTime: 'asc' }, { clientMessageId: 'asc' }] })
        .exec();
      if (pending.length === 0) return;
      for (const entry of pending) {
        if (this.#closed || !this.#online) return;
        const doc = entry.toJSON() as OutboxDoc;
        try {
          const request = {
            clientMessageId: doc.clientMessageId,
            conversationId: doc.conversationId,
            text: doc.text,
            messageType: doc.messageType,
            serverExtension: doc.serverExtension,
          };
          const answer = await ctx.transport.request('message:send', request);
          await entry.getLatest().remove();
          this.#delay = this.#baseDelay;
          this.#core.messageEvents.emit('onSendMessage', { ...answer.message, sendingState: SendingState.SUCCEEDED });
        } catch (error) {
          const failure = ConvSyncError.from(error);
          if (this.#closed) return;
          if (isTransient(failure)) {
            this.#retryLater();
            return;
          }
          await entry.getLatest().incrementalPatch({ state: 'failed', errorCode: failure.code, errorDesc: failure.desc.slice(0, 500) });
          this.#core.messageEvents.emit('onSendMessage', outboxMessage(ctx.accountId, doc, SendingState.FAILED));
        }
      }
    }
  }

  #retryLater(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#maxDelay);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.kick();
    }, delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
