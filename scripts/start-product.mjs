#!/usr/bin/env node
// `npm start`: the product on the embedded SQLite default — the sync server with development
// sign-in (POST /dev/token) on port 3000. The demo PWA is served beside it once it is built.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.CONVSYNC_PORT ?? '3000';
const server = spawn(process.execPath, [
  '--conditions=source', '--import', 'tsx', join(root, 'packages/server/src/cli.ts'),
  '--port', port, '--db', process.env.CONVSYNC_DB ?? join(root, 'convsync.sqlite'), '--dev',
], { stdio: 'inherit', cwd: root });

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
