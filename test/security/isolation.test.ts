/**
 * A socket sees and touches only its own account: another account's ids in any payload are
 * refused, and not one foreign document appears in any reply or stream.
 */
import { ClientEvent, type ConversationDoc, type ConversationGroupDoc } from '@convsync/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../harness/server-process.js';
import { WireClient } from '../harness/wire-client.js';
import { pinned, startSeededServer } from './fixtures.js';

/** Every conversation id and every text a reply or stream carries, to look for foreign data. */
function idsAndTexts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) idsAndTexts(item, out);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) idsAndTexts(item, out);
  return out;
}

describe('security: account isolation', () => {
  let server: ServerProcess;
  let alice: WireClient;
  let bobBefore: { conversations: ConversationDoc[]; groups: ConversationGroupDoc[] };
  const replies: unknown[] = [];

  const snapshotBob = async () => {
    const bob = await WireClient.connect({ url: server.url, token: server.token('bob') });
    try {
      return { conversations: await bob.pullAll('conversations'), groups: await bob.pullAll('conversationGroups') };
    } finally {
      bob.close();
    }
  };
  const ask = async (event: string, payload: unknown) => {
    const answer = await alice.request(event, payload);
    replies.push(answer);
    return answer;
  };

  beforeAll(async () => {
    server = await startSeededServer();
    bobBefore = await snapshotBob();
    alice = await WireClient.connect({ url: server.url, token: server.token('alice') });
  });
  afterAll(async () => {
    alice.close();
    await server.dispose();
  });

  it('a pull returns only the account\'s own documents', async () => {
    const conversations = await alice.pullAll('conversations');
    expect(conversations.map((d) => d.conversationId)).toEqual(['alice|1|dave']);
    const groups = await alice.pullAll('conversationGroups');
    expect(groups).toEqual([]);
  });

  it('a push of another account\'s conversation is refused (403), alone or inside a batch', async () => {
    expect(await ask(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: pinned('bob|1|carol') }] }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    expect(await ask(ClientEvent.PUSH, {
      collection: 'conversations',
      rows: [
        { newDocumentState: pinned('alice|1|dave') },
        { newDocumentState: pinned('bob|2|tbc') },
      ],
    })).toMatchObject({ ok: false, error: { code: 403 } });
    // The refused batch wrote nothing, not even its legitimate row.
    const [dave] = await alice.pullAll('conversations');
    expect(dave?.stickTop).toBe(false);
  });

  it('a push whose type or target disagrees with its id is refused', async () => {
    const doc = { ...pinned('alice|1|carol'), targetId: 'bob' };
    expect(await ask(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: doc }] }))
      .toMatchObject({ ok: false, error: { code: 191004 } });
  });

  it('a group id another account uses names the account\'s own group, never the other\'s', async () => {
    const answer = await ask(ClientEvent.PUSH, {
      collection: 'conversationGroups',
      rows: [{ newDocumentState: { groupId: 'g-bob', name: 'hijack', serverExtension: '', createTime: 1, updateTime: 1, clock: { name: '999999999999999-000000-evil', serverExtension: '', deleted: '999999999999999-000000-evil' }, _deleted: true } }],
    });
    expect(answer.ok).toBe(true);
  });

  it('messages cannot be sent from or read in another account\'s conversations', async () => {
    expect(await ask(ClientEvent.MESSAGE_SEND, { clientMessageId: 'x1', conversationId: 'bob|1|carol', text: 'spoof' }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    expect(await ask(ClientEvent.MESSAGE_SEND, { clientMessageId: 'x2', conversationId: 'alice|2|tbc', text: 'not a member' }))
      .toMatchObject({ ok: false });
    expect(await ask(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|carol', limit: 100 }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    expect(await ask(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|2|tbc', limit: 100 }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    const own = await ask(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|1|carol', limit: 100 });
    expect(own).toMatchObject({ ok: true, messages: [] });
  });

  it('the session is the token\'s account whatever the payload says', async () => {
    for (const payload of [{ accountId: 'bob' }, { owner: 'bob', sub: 'bob' }, {}]) {
      const answer = await ask(ClientEvent.SESSION_INFO, payload);
      if (answer.ok) expect(answer.accountId).toBe('alice');
    }
  });

  it('nothing of another account appears in any reply or stream, and the other account is unchanged', async () => {
    // Refusals echo the ids the attacker sent in their detail; what matters is what was served.
    const served = replies.filter((r) => (r as { ok?: unknown }).ok === true);
    const seen = idsAndTexts([served, alice.streams]);
    expect(seen.filter((s) => s.startsWith('bob|') || s.startsWith('carol|'))).toEqual([]);
    expect(seen.filter((s) => s.includes('secret'))).toEqual([]);
    expect(alice.badStreams).toEqual([]);
    expect(await snapshotBob()).toEqual(bobBefore);
    expect(bobBefore.groups.map((g) => g.groupId)).toEqual(['g-bob']);
  });
});
