/** The parent's handle on a server child process (lib/server-child.ts). */
import type { ConversationDoc, ConversationType, Message } from '@convsync/protocol';
import type { ServerOptions, TeamInput } from '@convsync/server';
import { rssOf, startChild, type Child } from './ipc.js';

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  issueTokens(accountIds: readonly string[]): Promise<string[]>;
  sendMessage(input: { from: string; conversationType: ConversationType; targetId: string; text: string }): Promise<Message>;
  createTeam(team: TeamInput): Promise<void>;
  seedP2P(to: string, count: number, from?: number): Promise<void>;
  /** Every conversation of the benchmark account (lib/seed.ts `ACCOUNT`), as the server serves them. */
  pullAll(): Promise<ConversationDoc[]>;
  /** Runs the collector twice in the server (it runs with --expose-gc). */
  gc(): Promise<void>;
  /** The server's resident set size in bytes (/proc/<pid>/status). */
  rss(): Promise<number>;
  close(): Promise<void>;
}

export async function startServerProcess(options: ServerOptions = {}): Promise<ServerProcess> {
  const child: Child = await startChild('./server-child.ts', { database: ':memory:', ...options }, { exposeGc: true });
  const { url } = child.ready as { url: string };
  return {
    url,
    pid: child.pid,
    issueTokens: (ids) => child.call('issueTokens', ids),
    sendMessage: (input) => child.call('sendMessage', input),
    createTeam: (team) => child.call('createTeam', team),
    seedP2P: (to, count, from = 0) => child.call('seedP2P', to, count, from),
    pullAll: () => child.call('pullAll'),
    gc: () => child.call('gc'),
    rss: () => rssOf(child.pid),
    close: () => child.stop(),
  };
}
