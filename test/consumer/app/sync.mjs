// Runs inside the scratch app with plain `node` (no tsx, no export conditions): the installed
// tarballs' compiled JavaScript starts a server on SQLite and syncs a conversation into two engines
// (two devices of one account) in both directions. Every wait is on a condition, bounded by rxjs'
// timeout; any failure throws, and the process exits non-zero.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConvSyncError, ConversationType, ErrorCode, createConversationEngine } from '@convsync/engine';
import { ConvSyncError as ProtocolConvSyncError, PROTOCOL_VERSION } from '@convsync/protocol';
import { startServer } from '@convsync/server';
import { Observable, filter, firstValueFrom, timeout } from 'rxjs';

const WAIT_MS = 30_000;

/**
 * @template T
 * @param {Observable<T>} source
 * @param {(value: T) => boolean} predicate
 * @param {string} what
 * @returns {Promise<T>}
 */
function waitFor(source, predicate, what) {
  return firstValueFrom(source.pipe(
    filter(predicate),
    timeout({ first: WAIT_MS, with: () => { throw new Error(`timed out waiting for ${what}`); } }),
  ));
}

const dir = await mkdtemp(join(tmpdir(), 'convsync-consumer-db-'));
const server = await startServer({ port: 0, database: join(dir, 'app.sqlite') });
const engines = [];
try {
  await server.upsertUser({ accountId: 'bob', name: 'Bob' });
  const phone = await createConversationEngine({ url: server.url, token: await server.issueToken('alice'), storage: 'memory', deviceId: 'phone' });
  engines.push(phone);
  const laptop = await createConversationEngine({ url: server.url, token: await server.issueToken('alice'), storage: 'memory', deviceId: 'laptop' });
  engines.push(laptop);

  // One copy of each shared package: the app's rxjs is the engine's (a peer dependency), and the
  // engine's ConvSyncError is the protocol's.
  assert.ok(phone.syncState$ instanceof Observable, "syncState$ is not an Observable of the app's rxjs");
  assert.equal(ConvSyncError, ProtocolConvSyncError, 'two copies of @convsync/protocol are installed');
  assert.equal(typeof PROTOCOL_VERSION, 'number');

  // Server → devices: a message from bob creates the conversation, unread, named from his profile.
  await server.sendMessage({ from: 'bob', conversationType: ConversationType.P2P, targetId: 'alice', text: 'hello from bob' });
  const bob = phone.conversationIdUtil.p2pConversationId('bob');
  const arrived = await waitFor(phone.conversationService.conversation$(bob), (c) => c?.lastMessage?.text === 'hello from bob', "bob's message on the phone");
  assert.equal(arrived?.unreadCount, 1);
  assert.equal(arrived?.name, 'Bob');

  // Device → server → other device: a pin made on the phone shows on the laptop.
  await phone.conversationService.stickTopConversation(bob, true);
  await waitFor(laptop.conversationService.conversation$(bob), (c) => c?.stickTop === true, 'the pin on the laptop');

  // A message sent on the laptop is delivered and becomes the phone's last message.
  await laptop.messageService.sendMessage(bob, { text: 'hi bob' });
  await waitFor(phone.conversationService.conversation$(bob), (c) => c?.lastMessage?.text === 'hi bob', "the laptop's message on the phone");
  await waitFor(phone.syncState$, (state) => state === 'synced', 'the phone to be synced');

  // Bad input: a clear error with its code.
  await assert.rejects(phone.conversationService.getConversation('not a conversation id'),
    (error) => error instanceof ConvSyncError && error.code === ErrorCode.INVALID_PARAMETER);

  const page = await phone.conversationService.getConversationList(0, 20);
  assert.deepEqual(page.conversationList.map((c) => [c.conversationId, c.stickTop]), [[bob, true]]);
  console.log(`synced ${page.conversationList.length} conversation into two engines over ${server.url}`);
} finally {
  for (const engine of engines) await engine.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
