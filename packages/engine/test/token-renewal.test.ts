/**
 * Tokens that renew, against a real server over socket.io: a provider is asked for every session,
 * ahead of each token's expiry (renewed on the open socket with `session:renew`), and once more
 * after a 302; a failing provider is retried with backoff and surfaces a 302 with
 * `detail.reason: 'token-provider'`, never an unhandled rejection (vitest fails the run on one).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type ConvSyncError, type Message } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { createConversationEngine, type ConversationEngine, type SyncState } from '../src/index.js';
import { closeAll, synced, track, uniqueName } from './engine.helpers.js';
import { eventually, waitFor } from './services.helpers.js';

let server: ConvSyncServer;
beforeEach(async () => {
  server = await startServer({ database: ':memory:', port: 0 });
});
afterEach(async () => {
  await closeAll();
  await server.close();
});

function open(token: string | (() => string | Promise<string>), extra: { accountId?: string; tokenRetry?: { attempts?: number; delayMs?: number }; autoConnect?: boolean } = {}): Promise<ConversationEngine> {
  return createConversationEngine({ url: server.url, token, storage: 'memory', databaseName: uniqueName('renew'), ...extra }).then(track);
}

/** What the server holds for alice: each conversation's extension and last message, and its history. */
async function serverView(): Promise<{ extensions: Map<string, string>; history: Map<string, string[]> }> {
  const session = await server.connectInProcess(await server.issueToken('alice'));
  try {
    const extensions = new Map<string, string>();
    let checkpoint: unknown = null;
    for (;;) {
      const page = await session.request('sync:pull', { collection: 'conversations', checkpoint, batchSize: 200 }) as {
        ok: boolean; documents: { conversationId: string; serverExtension?: string }[]; checkpoint: unknown; hasMore: boolean;
      };
      expect(page.ok).toBe(true);
      for (const doc of page.documents) extensions.set(doc.conversationId, doc.serverExtension ?? '');
      checkpoint = page.checkpoint;
      if (!page.hasMore) break;
    }
    const history = new Map<string, string[]>();
    for (const id of extensions.keys()) {
      const answer = await session.request('message:list', { conversationId: id, limit: 100 }) as { ok: boolean; messages: Message[] };
      expect(answer.ok).toBe(true);
      history.set(id, answer.messages.map((m) => m.text ?? ''));
    }
    return { extensions, history };
  } finally {
    session.close();
  }
}

describe('tokens that renew', () => {
  it('a 2-second token renewed for 10 seconds: the engine stays connected, and every edit and message before, during and after each renewal lands exactly once', async () => {
    // Assigned once open() resolves; the provider runs before that and must see it unset.
    let engine: ConversationEngine | undefined = undefined;
    const tags: string[] = [];
    let renewals = 0;
    /** One edit and one message, tagged, on a conversation of its own. */
    const act = async (tag: string): Promise<void> => {
      if (engine === undefined) return;
      tags.push(tag);
      const id = `alice|1|${tag}`;
      await engine.messageService.sendMessage(id, { text: tag });
      await engine.conversationService.updateConversation(id, { serverExtension: tag });
    };
    const provider = async (): Promise<string> => {
      renewals++;
      // "During": the renewal is under way until the provider answers.
      await act(`d${renewals}`);
      return server.issueToken('alice', { expiresInSeconds: 2 });
    };
    engine = await open(provider, { accountId: 'alice' });
    await synced(engine);
    const states: SyncState[] = [];
    const subscription = engine.syncState$.subscribe((state) => states.push(state));
    const errors: ConvSyncError[] = [];
    const errorSubscription = engine.errors$.subscribe((error) => errors.push(error));

    const startedAt = Date.now();
    let step = 0;
    while (Date.now() - startedAt < 10_000) {
      await act(`l${step++}`);
      // Paced so the run spans several token lifetimes; correctness is checked on state below.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(engine.syncState$, (state) => state === 'synced', 10_000);
    await eventually(async () => {
      const view = await serverView();
      return tags.every((tag) => view.extensions.get(`alice|1|${tag}`) === tag);
    }, 10_000);
    subscription.unsubscribe();
    errorSubscription.unsubscribe();

    // At least five renewals in ten seconds of two-second tokens, none of which took the engine offline.
    expect(renewals).toBeGreaterThanOrEqual(5);
    expect(states.filter((state) => state === 'offline' || state === 'error')).toEqual([]);
    expect(errors.filter((error) => error.code === ErrorCode.AUTH_FAILED)).toEqual([]);
    const view = await serverView();
    for (const tag of tags) {
      expect(view.extensions.get(`alice|1|${tag}`), tag).toBe(tag);
      expect(view.history.get(`alice|1|${tag}`), tag).toEqual([tag]);
    }
    expect(tags.filter((tag) => tag.startsWith('d')).length).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('a provider that throws and rejects is retried with backoff; the failures are reported, and the engine syncs', async () => {
    let calls = 0;
    const provider = (): Promise<string> | string => {
      calls++;
      if (calls === 1) throw new Error('identity provider down');
      if (calls === 2) return Promise.reject(new Error('still down'));
      return server.issueToken('alice');
    };
    const engine = await open(provider, { accountId: 'alice', tokenRetry: { attempts: 5, delayMs: 20 }, autoConnect: false });
    const errors: ConvSyncError[] = [];
    engine.errors$.subscribe((error) => errors.push(error));
    engine.connect();
    await synced(engine);
    expect(calls).toBe(3);
    expect(errors.map((error) => error.desc)).toEqual(expect.arrayContaining([expect.stringContaining('identity provider down'), expect.stringContaining('still down')]));
  });

  it('a provider that keeps failing ends in error 302 (reason token-provider) and onSyncFailed; connect() tries again', async () => {
    let healthy = false;
    const provider = async (): Promise<string> => {
      if (!healthy) throw new Error('no session at the identity provider');
      return server.issueToken('alice');
    };
    const engine = await open(provider, { accountId: 'alice', tokenRetry: { attempts: 3, delayMs: 10 } });
    const failures: ConvSyncError[] = [];
    engine.conversationService.on('onSyncFailed', (error) => failures.push(error));
    await waitFor(engine.syncState$, (state) => state === 'error', 10_000);
    await eventually(() => failures.some((error) => error.code === ErrorCode.AUTH_FAILED));
    const failure = failures.find((error) => error.code === ErrorCode.AUTH_FAILED);
    expect(failure?.detail).toMatchObject({ reason: 'token-provider', attempts: 3 });
    // Every call keeps working on the replica meanwhile.
    await engine.conversationService.createConversation('alice|1|bob');
    healthy = true;
    engine.connect();
    await synced(engine);
  });

  it('after a 302 the provider is asked once more: a stale token followed by a good one connects', async () => {
    const other = await startServer({ database: ':memory:', port: 0 });
    const stale = await other.issueToken('alice');
    await other.close();
    const answers = [stale, await server.issueToken('alice')];
    let calls = 0;
    const engine = await open(() => answers[Math.min(calls++, answers.length - 1)] as string, { accountId: 'alice' });
    await synced(engine);
    expect(calls).toBe(2);
  });

  it('a provider that keeps answering a refused token ends in error 302 after the one extra try', async () => {
    const other = await startServer({ database: ':memory:', port: 0 });
    const stale = await other.issueToken('alice');
    await other.close();
    let calls = 0;
    const engine = await open(() => {
      calls++;
      return stale;
    }, { accountId: 'alice' });
    await waitFor(engine.syncState$, (state) => state === 'error', 10_000);
    expect(calls).toBe(2);
  });

  it('without accountId the provider is asked at once for the account; that token opens the first session', async () => {
    let calls = 0;
    const engine = await open(async () => {
      calls++;
      return server.issueToken('alice');
    });
    expect(engine.accountId).toBe('alice');
    await synced(engine);
    expect(calls).toBe(1);
  });

  it('a token for another account from the provider is never used', async () => {
    const engine = await open(async () => server.issueToken('mallory'), { accountId: 'alice', tokenRetry: { attempts: 2, delayMs: 10 } });
    await waitFor(engine.syncState$, (state) => state === 'error', 10_000);
  });

  it('a plain string token that expires ends in error 302, as before', async () => {
    const engine = await open(await server.issueToken('alice', { expiresInSeconds: 1 }));
    await synced(engine);
    const failures: ConvSyncError[] = [];
    engine.conversationService.on('onSyncFailed', (error) => failures.push(error));
    await waitFor(engine.syncState$, (state) => state === 'error', 10_000);
    expect(failures.map((error) => error.code)).toContain(ErrorCode.AUTH_FAILED);
  });
});
