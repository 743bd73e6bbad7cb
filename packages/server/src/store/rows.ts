/**
 * The row shapes both SQL backends read (same column names in SQLite and PostgreSQL) and their
 * mapping to the store interface's records: backend files keep only their dialect.
 */
import type { StoredDoc, StoredMessage } from './store.js';

export interface DocRow { owner: string; collection: string; id: string; seq: number; doc: string }
export interface MessageRow {
  conversation_key: string; message_server_id: string; sender_id: string; client_message_id: string;
  create_time: number; message: string;
}

export function toDoc(row: DocRow): StoredDoc {
  return { owner: row.owner, collection: row.collection, id: row.id, seq: row.seq, json: row.doc };
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    conversationKey: row.conversation_key,
    messageServerId: row.message_server_id,
    senderId: row.sender_id,
    clientMessageId: row.client_message_id,
    createTime: row.create_time,
    json: row.message,
  };
}
