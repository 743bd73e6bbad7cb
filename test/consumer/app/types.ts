// Type-checked in the scratch app by `tsc --module nodenext --moduleResolution nodenext` against
// the declarations the tarballs ship. The @ts-expect-error lines prove the types are real: if a
// declaration went missing and its import fell back to `any`, they would no longer be errors and
// tsc would fail on the unused directives.
import {
  ConvSyncError,
  ConversationType,
  ErrorCode,
  createConversationEngine,
  type Conversation,
  type ConversationEngine,
  type ConversationEngineOptions,
  type SyncState,
} from '@convsync/engine';
import { PROTOCOL_VERSION } from '@convsync/protocol';
import { startServer, type ConvSyncServer, type ServerOptions } from '@convsync/server';
import type { Observable } from 'rxjs';

export async function firstPage(): Promise<string[]> {
  const options: ServerOptions = { port: 0, database: ':memory:' };
  const server: ConvSyncServer = await startServer(options);
  const engineOptions: ConversationEngineOptions = { url: server.url, token: await server.issueToken('alice'), storage: 'memory' };
  const engine: ConversationEngine = await createConversationEngine(engineOptions);
  const state$: Observable<SyncState> = engine.syncState$;
  state$.subscribe((state) => { if (state === 'error') throw new Error('sync failed'); });
  engine.conversationService.on('onTotalUnreadCountChanged', (count: number) => { void count; });
  const type: ConversationType = ConversationType.TEAM;
  const code: number = ErrorCode.INVALID_PARAMETER;
  const version: number = PROTOCOL_VERSION;
  void [type, code, version];

  try {
    // @ts-expect-error -- a page limit is a number
    await engine.conversationService.getConversationList(0, 'twenty');
  } catch (error) {
    if (error instanceof ConvSyncError) void error.code;
  }
  // @ts-expect-error -- SyncState is a closed union
  const wrong: SyncState = 'sleeping';
  // @ts-expect-error -- startServer's options are checked
  await startServer({ port: 0, databse: ':memory:' });
  void wrong;

  const page = await engine.conversationService.getConversationList(0, 20);
  const names = page.conversationList.map((c: Conversation) => c.name);
  await engine.close();
  await server.close();
  return names;
}
