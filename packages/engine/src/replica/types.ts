/**
 * The replica's collections as the rest of the engine sees them. `openReplica` (replica/database.ts)
 * creates them; services and views read and write through these handles only.
 */
import type { RxCollection, RxDatabase } from 'rxdb';
import type { ConversationDoc, ConversationGroupDoc, MessageType } from '@convsync/protocol';

/** Device-only extension of a conversation; never replicated. */
export interface LocalExtensionDoc {
  conversationId: string;
  localExtension: string;
}

/** A message written on this device and not yet acknowledged by the server. */
export interface OutboxDoc {
  clientMessageId: string;
  conversationId: string;
  text: string;
  messageType: MessageType;
  serverExtension: string;
  /** Estimated server time when the message was written (orders the outbox). */
  createTime: number;
  state: 'sending' | 'failed';
  /** The refusal, when `state` is 'failed'. */
  errorCode: number;
  errorDesc: string;
}

/** The replica's local document holding a replicated collection's checkpoint (`{seq}`). */
export function checkpointKey(collection: string): string {
  return `checkpoint-${collection}`;
}

/** Stored documents carry RxDB's `_deleted` flag themselves; these types omit RxDB's meta. */
export type ConversationCollection = RxCollection<ConversationDoc>;
export type GroupCollection = RxCollection<ConversationGroupDoc>;
export type LocalExtensionCollection = RxCollection<LocalExtensionDoc>;
export type OutboxCollection = RxCollection<OutboxDoc>;

export interface Replica {
  readonly database: RxDatabase;
  readonly conversations: ConversationCollection;
  readonly groups: GroupCollection;
  readonly localExtensions: LocalExtensionCollection;
  readonly outbox: OutboxCollection;
  /** Stable per replica: generated on first open and stored in it. */
  readonly deviceId: string;
  /** Small device-local values (the clock offset, …), stored in the replica. */
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}
