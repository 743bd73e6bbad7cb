#!/usr/bin/env node
// `npm start` / `pnpm run start:product`: the product on the embedded SQLite default — the sync
// server with development sign-in (port 3000) and the demo PWA (port 5173), seeded with demo
// accounts and messages when the database is new. The work is in packages/demo/tools/product.ts,
// run as TypeScript from sources (no build of the server or engine needed); Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', join(root, 'packages/demo/tools/product.ts')],
  { stdio: 'inherit', cwd: process.cwd() },
);

// The child shares the terminal's process group, so Ctrl-C reaches it directly; forward the
// signals sent to this process alone (e.g. `kill`) and wait for its orderly shutdown.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
