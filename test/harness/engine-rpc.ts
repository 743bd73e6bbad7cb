/** The messages between the test process and an engine device's worker thread. */
import type { ConversationType } from '@convsync/protocol';

export interface EngineDeviceInit {
  url: string;
  token: string;
  deviceId: string;
  storage: 'memory' | 'dexie';
  /** Added to Date.now() inside the worker: the device's clock is this far off. */
  skewMs: number;
  /**
   * Engines sharing the device's replica, as the tabs of one browser profile (default 1). With more
   * than one, the replica is in memory, commands go to the tabs in turn, and every few commands
   * the oldest tab closes (handing over if it leads) and a new one opens.
   */
  tabs?: number;
}

export type EngineCommand =
  | { kind: 'markRead'; conversationId: string }
  | { kind: 'clearAll' }
  | { kind: 'clearByTypes'; types: ConversationType[] }
  | { kind: 'clearByGroup'; groupIndex: number }
  | { kind: 'clearByIds'; ids: string[] }
  | { kind: 'pin'; conversationId: string; on: boolean }
  | { kind: 'mute'; conversationId: string; on: boolean }
  | { kind: 'extension'; conversationId: string; text: string }
  | { kind: 'create'; conversationId: string }
  | { kind: 'delete'; conversationId: string; clear: boolean }
  | { kind: 'groupCreate'; name: string }
  | { kind: 'groupRename'; groupIndex: number; name: string }
  | { kind: 'groupDelete'; groupIndex: number }
  | { kind: 'groupAdd'; groupIndex: number; conversationId: string }
  | { kind: 'groupRemove'; groupIndex: number; conversationId: string }
  | { kind: 'send'; conversationId: string; text: string }
  | { kind: 'disconnect' }
  | { kind: 'connect' }
  | { kind: 'snapshot' }
  /** The replica's own visible documents of these ids (not the list view): tells a view bug from a missing document. */
  | { kind: 'byIds'; ids: string[] }
  | { kind: 'close' };

/** What the conversation list says about one conversation, as compared with the server. */
export interface ConversationView {
  conversationId: string;
  stickTop: boolean;
  mute: boolean;
  serverExtension: string;
  groupIds: string[];
  lastReadTime: number;
  unreadCount: number;
  lastMessageServerId: string | null;
}

export interface GroupView {
  groupId: string;
  name: string;
  serverExtension: string;
}

export interface EngineSnapshot {
  syncState: string;
  conversations: ConversationView[];
  groups: GroupView[];
  /** Client ids of messages sent from this device, with their sending state. */
  sent: { clientMessageId: string; state: string }[];
  readTimeRegressions: string[];
  /** Background errors the engine reported (onSyncFailed). */
  syncFailures: string[];
}

export type EngineReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: number | null; message: string };
