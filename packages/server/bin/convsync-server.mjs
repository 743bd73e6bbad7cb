#!/usr/bin/env node
// The `convsync-server` command. An installed package runs the compiled CLI (dist/cli.js) in this
// process. Inside the repository checkout (recognised by the package's tsconfig.json, which the
// tarball does not carry) it runs src/cli.ts through tsx instead, so the command never runs a stale
// dist/ left by an earlier `pnpm pack`; signals are forwarded so SIGTERM/SIGINT still shut the
// server down gracefully.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const inRepository = existsSync(fileURLToPath(new URL('../tsconfig.json', import.meta.url)));
if (!inRepository) {
  await import(new URL('../dist/cli.js', import.meta.url).href);
} else {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
}
