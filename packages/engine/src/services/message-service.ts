/**
 * `messageService` (docs/API.md "messageService"): sends through the outbox (offline first), reads history from the
 * server, and reports received messages (from the conversations' change stream).
 */
import {
  MessageType,
  SendingState,
  invalidParameter,
  messageListRequestSchema,
  parseOrThrow,
  sendMessageRequestSchema,
  type Message,
} from '@convsync/protocol';
import { createEdit } from '../edits/conversation.js';
import { applyEdits } from '../edits/write.js';
import type { OutboxDoc } from '../replica/types.js';
import { call, type ServiceCore } from './core.js';
import { OutboxWorker, outboxMessage, type OutboxWorkerOptions } from './outbox-worker.js';
import type { MessageListeners, MessageListOption, SendMessageParams } from './types.js';
import { checkConversationId } from './validate.js';

/**
 * Messages (docs/API.md "messageService"): sending works offline (an outbox delivers exactly once when online).
 *
 * @example
 * ```ts
 * const ms = engine.messageService;
 * ms.on('onReceiveMessages', (messages) => notify(messages));
 * ms.on('onSendMessage', (m) => console.log(m.messageClientId, m.sendingState)); // 'succeeded' | 'failed'
 * const message = await ms.sendMessage('alice|1|bob', { text: 'hi' }); // sendingState 'sending'
 * const history = await ms.getMessageList('alice|1|bob', { limit: 20 }); // needs the server
 * ```
 */
export interface MessageService {
  /** Adds a listener; the function returned removes that listener. */
  on<K extends keyof MessageListeners>(event: K, listener: MessageListeners[K]): () => void;
  /** Removes one listener, or every listener of `event` when `listener` is absent. */
  off<K extends keyof MessageListeners>(event: K, listener?: MessageListeners[K]): void;
  /** Removes every listener of `event`, or every listener of this service when `event` is absent. */
  removeAllListeners(event?: keyof MessageListeners): void;
  /**
   * Stores the message on the device and resolves at once (`sendingState: 'sending'`); it is
   * delivered exactly once when online, then 'succeeded' (or 'failed' if the server refuses it).
   */
  sendMessage(conversationId: string, params: SendMessageParams): Promise<Message>;
  /**
   * History from the server, newest first (offline: ConvSyncError 192004). Without `beforeTime`
   * the device's pending sends come first.
   */
  getMessageList(conversationId: string, option: MessageListOption): Promise<Message[]>;
}

/** A client message id: random, valid per the protocol's id rules. */
export function newClientMessageId(): string {
  return `m-${globalThis.crypto.randomUUID()}`;
}

export function createMessageService(
  core: ServiceCore,
  options: OutboxWorkerOptions & { newClientMessageId?: () => string } = {},
): MessageService & { dispose(): Promise<void> } {
  const { ctx } = core;
  const worker = new OutboxWorker(core, options);
  const nextId = options.newClientMessageId ?? newClientMessageId;

  return {
    on: (event, listener) => core.messageEvents.on(event, listener),
    off: (event, listener) => core.messageEvents.off(event, listener),
    removeAllListeners: (event) => core.messageEvents.removeAllListeners(event),

    sendMessage: (conversationId, params) => call(core, async () => {
      const id = checkConversationId(ctx.accountId, conversationId);
      if (typeof params !== 'object' || params === null) throw invalidParameter('params must be an object');
      const request = parseOrThrow(sendMessageRequestSchema, {
        clientMessageId: nextId(),
        conversationId: id,
        text: params.text,
        messageType: params.messageType ?? MessageType.TEXT,
        serverExtension: params.serverExtension ?? '',
      }, 'message');
      // Sending creates the conversation (or brings a deleted one back) on this device at once;
      // the server does the same when the message arrives.
      await applyEdits(ctx.replica.conversations, [id], createEdit(ctx.clock, id));
      // Strictly increasing per device, so the outbox delivers in the order the user sent.
      const newest = await ctx.replica.outbox.findOne({ sort: [{ createTime: 'desc' }] }).exec();
      const createTime = Math.max(ctx.clock.now(), newest === null ? 0 : newest.createTime + 1);
      const doc: OutboxDoc = {
        clientMessageId: request.clientMessageId,
        conversationId: id,
        text: request.text,
        messageType: request.messageType ?? MessageType.TEXT,
        serverExtension: request.serverExtension ?? '',
        createTime,
        state: 'sending',
        errorCode: 0,
        errorDesc: '',
      };
      await ctx.replica.outbox.insert(doc);
      worker.kick();
      return outboxMessage(ctx.accountId, doc, SendingState.SENDING);
    }),

    getMessageList: (conversationId, option) => call(core, async () => {
      const id = checkConversationId(ctx.accountId, conversationId);
      if (typeof option !== 'object' || option === null) throw invalidParameter('option must be an object');
      const request = parseOrThrow(messageListRequestSchema, {
        conversationId: id,
        limit: option.limit,
        ...(option.beforeTime === undefined ? {} : { beforeTime: option.beforeTime }),
      }, 'message list option');
      const answer = await ctx.transport.request('message:list', request);
      if (request.beforeTime !== undefined) return answer.messages;
      const local = await ctx.replica.outbox
        .find({ selector: { conversationId: id }, sort: [{ createTime: 'desc' }, { clientMessageId: 'desc' }] })
        .exec();
      const delivered = new Set(answer.messages.map((m) => m.messageClientId));
      const pending = local
        .map((entry) => entry.toJSON() as OutboxDoc)
        .filter((entry) => !delivered.has(entry.clientMessageId))
        .map((entry) => outboxMessage(ctx.accountId, entry, entry.state === 'failed' ? SendingState.FAILED : SendingState.SENDING));
      return [...pending, ...answer.messages];
    }),

    dispose: () => worker.dispose(),
  };
}
