/**
 * A ConvSync server in its own process (started by lib/server-process.ts): `startServer` with the
 * options given as argument, driven over IPC.
 */
import { startServer, type SendMessageInput, type ServerOptions } from '@convsync/server';
import type { TeamInput } from '@convsync/server';
import { serveParent } from './ipc.js';
import { inParallel, pullAll } from './seed.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
const server = await startServer(options);
const gc = (globalThis as { gc?: () => void }).gc;

serveParent({
  issueTokens: async (accountIds: string[]) => Promise.all(accountIds.map((id) => server.issueToken(id))),
  sendMessage: (input: SendMessageInput) => server.sendMessage(input),
  createTeam: (team: TeamInput) => server.createTeam(team),
  /** Sends `count` P2P messages from peers to `to` (seeding), `concurrency` in flight. */
  seedP2P: async (to: string, count: number, from = 0) => {
    await inParallel(count, 32, (i) => server.sendMessage({ from: `peer${String(from + i).padStart(6, '0')}`, conversationType: 1, targetId: to, text: `hello ${i}` }));
  },
  /** Every conversation of the benchmark account, as the server serves them. */
  pullAll: () => pullAll(server),
  gc: () => {
    gc?.();
    gc?.();
  },
}, () => server.close());

process.send?.({ url: server.url, pid: process.pid });
