/** Shared set-up of the security suite: a server child process with two accounts' worth of data. */
import { ClientEvent, ConversationType, PROTOCOL_VERSION, conversationId, emptyConversation, normalizeConversation, type ConversationDoc } from '@convsync/protocol';
import { ServerProcess } from '../harness/server-process.js';
import { WireClient } from '../harness/wire-client.js';

/** Every client event, plus one the server does not know. */
export const EVENTS = [...Object.values(ClientEvent), 'admin:drop'] as const;

/** A well-formed payload for each event, as `account` would send it. */
export function validPayload(event: string, account: string): unknown {
  switch (event) {
    case ClientEvent.SESSION_INFO:
      return {};
    case ClientEvent.PULL:
      return { collection: 'conversations', checkpoint: null, batchSize: 100 };
    case ClientEvent.PUSH:
      return { collection: 'conversations', rows: [{ newDocumentState: pinned(conversationId(account, ConversationType.P2P, 'mallory')) }] };
    case ClientEvent.MESSAGE_SEND:
      return { clientMessageId: `c${Math.random().toString(36).slice(2)}`, conversationId: conversationId(account, ConversationType.P2P, 'mallory'), text: 'hi' };
    case ClientEvent.MESSAGE_LIST:
      return { conversationId: conversationId(account, ConversationType.P2P, 'carol'), limit: 10 };
    default:
      return { anything: true };
  }
}

/** A pinned conversation document as a device would push it. */
export function pinned(id: string, stamp = `${String(Date.now()).padStart(15, '0')}-000000-attacker`): ConversationDoc {
  const doc = emptyConversation({ conversationId: id, now: Date.now() });
  return normalizeConversation({ ...doc, stickTop: true, clock: { ...doc.clock, stickTop: stamp } });
}

/** bob and carol talk (P2P and in team `tbc`), bob pins and groups; alice exists with one chat. */
export async function startSeededServer(args: readonly string[] = []): Promise<ServerProcess> {
  const server = new ServerProcess({ args });
  await server.seed(async (s) => {
    await s.createTeam({ teamId: 'tbc', name: 'bob and carol', memberIds: ['bob', 'carol'] });
    await s.sendMessage({ from: 'bob', conversationType: ConversationType.P2P, targetId: 'carol', text: 'secret p2p' });
    await s.sendMessage({ from: 'carol', conversationType: ConversationType.TEAM, targetId: 'tbc', text: 'secret team' });
    await s.sendMessage({ from: 'alice', conversationType: ConversationType.P2P, targetId: 'dave', text: 'hello dave' });
  });
  await server.start();
  const bob = await WireClient.connect({ url: server.url, token: server.token('bob') });
  try {
    await bob.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: pinned('bob|1|carol') }] });
    await bob.request(ClientEvent.PUSH, {
      collection: 'conversationGroups',
      rows: [{ newDocumentState: { groupId: 'g-bob', name: 'bob only', serverExtension: 'x', createTime: 1, updateTime: 1, clock: { name: '000000000000001-000000-bob', serverExtension: '000000000000001-000000-bob', deleted: '' }, _deleted: false } }],
    });
  } finally {
    bob.close();
  }
  return server;
}

export const handshake = (token: string): Record<string, unknown> => ({ token, protocolVersion: PROTOCOL_VERSION });
