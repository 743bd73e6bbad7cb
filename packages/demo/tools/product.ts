/**
 * The product on one machine (`npm start`): the sync server on the embedded SQLite default with
 * development sign-in, the built demo beside it, and demo content on a new database. Ctrl-C stops
 * both. Options: CONVSYNC_PORT (3000), CONVSYNC_DB (./convsync.sqlite), CONVSYNC_DEMO_PORT (5173),
 * CONVSYNC_HOST (127.0.0.1).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startServer } from '@convsync/server';
import { DEMO_ACCOUNTS, seedDemo } from './seed.js';
import { buildDemo, serveDemo } from './serve.js';

async function main(): Promise<void> {
  const env = process.env;
  const host = env.CONVSYNC_HOST ?? '127.0.0.1';
  const port = Number(env.CONVSYNC_PORT ?? '3000');
  const demoPort = Number(env.CONVSYNC_DEMO_PORT ?? '5173');
  const database = env.CONVSYNC_DB ?? resolve('convsync.sqlite');
  const isNew = database === ':memory:' || !existsSync(database);

  process.stdout.write('Building the demo (skipped when up to date)…\n');
  await buildDemo();
  // A stable secret keeps remembered sessions valid across restarts of the demo.
  const secret = env.CONVSYNC_SECRET ?? 'convsync-demo-development-secret-not-for-production';
  const server = await startServer({ port, host, database, dev: true, secret });
  if (isNew) await seedDemo(server);
  const demo = await serveDemo({ port: demoPort, host });

  process.stdout.write([
    '',
    `  ConvSync is running${isNew ? ' (new database, demo content added)' : ''}`,
    `  Demo PWA:    ${demo.url}/`,
    `  Sync server: ${server.url}  (database ${database}; dev sign-in: POST ${server.url}/dev/token)`,
    `  Sign in as:  ${DEMO_ACCOUNTS.join(', ')} (or any account id); open a second browser profile as the same account to see sync`,
    '  Ctrl-C stops both.',
    '',
  ].join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping…\n');
    Promise.all([demo.close(), server.close()]).then(() => process.exit(0), (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
